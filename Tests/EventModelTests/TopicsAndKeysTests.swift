import XCTest

@testable import EventModel

final class TopicsAndKeysTests: XCTestCase {
    func testDefaultTopicNames() {
        let topics = Topics()
        XCTAssertEqual(topics.ingest, "keel.ingest")
        XCTAssertEqual(topics.batch, "keel.batch")
        XCTAssertEqual(topics.deliver(destinationType: "webhook"), "keel.deliver.webhook")
        XCTAssertEqual(topics.deliverPattern, #"^keel\.deliver\..*"#)
    }

    func testPrefixIsAppliedAndEscapedInThePattern() {
        let topics = Topics(prefix: "staging.keel.")
        XCTAssertEqual(topics.ingest, "staging.keel.ingest")
        XCTAssertEqual(topics.deliver(destinationType: "amplitude"), "staging.keel.deliver.amplitude")
        XCTAssertEqual(topics.deliverPattern, #"^staging\.keel\.deliver\..*"#)
        XCTAssertEqual(Topics(prefix: "").deliverPattern, #"^deliver\..*"#)
        XCTAssertEqual(Topics(prefix: "a+b_").deliverPattern, #"^a\+b_deliver\..*"#)
    }

    func testPatternMatchesOnlyDeliverTopics() throws {
        let topics = Topics(prefix: "k.")
        let regex = try Regex(topics.deliverPattern)
        XCTAssertNotNil(try regex.firstMatch(in: topics.deliver(destinationType: "webhook")))
        XCTAssertNil(try regex.firstMatch(in: "kXdeliver.webhook"), "the prefix's dot must be literal")
        XCTAssertNil(try regex.firstMatch(in: topics.ingest))
        XCTAssertNil(try regex.firstMatch(in: "other.k.deliver.webhook"))
    }

    func testDestinationTypeOfADeliverTopic() {
        let topics = Topics()
        XCTAssertEqual(topics.destinationType(ofDeliverTopic: "keel.deliver.google_analytics"), "google_analytics")
        XCTAssertNil(topics.destinationType(ofDeliverTopic: "keel.deliver."))
        XCTAssertNil(topics.destinationType(ofDeliverTopic: "keel.ingest"))
        XCTAssertNil(topics.destinationType(ofDeliverTopic: "other.deliver.webhook"))
    }

    func testUserKeyPrefersAnonymousId() {
        XCTAssertEqual(MessageKey.userKey(event: ["anonymousId": "anon", "userId": "user"]), "anon")
        XCTAssertEqual(MessageKey.userKey(event: ["anonymousId": "", "userId": "user"]), "user")
        XCTAssertEqual(MessageKey.userKey(event: ["anonymousId": nil, "userId": "user"]), "user")
        XCTAssertEqual(MessageKey.userKey(event: ["userId": "user"]), "user")
        XCTAssertEqual(MessageKey.userKey(event: [:]), "")
        XCTAssertEqual(MessageKey.userKey(event: ["userId": ["nested": 1]]), "")
    }

    func testNumericUserIdsAreWrittenLikeJSON() {
        XCTAssertEqual(MessageKey.userKey(event: ["userId": 12345]), "12345")
        XCTAssertEqual(MessageKey.userKey(event: ["userId": -7]), "-7")
        XCTAssertEqual(MessageKey.userKey(event: ["userId": 12.0]), "12")
        XCTAssertEqual(MessageKey.userKey(event: ["userId": 1.5]), "1.5")
        XCTAssertEqual(MessageKey.userKey(event: try! JSON(parsing: #"{"userId":98765432101}"#)), "98765432101")
    }

    func testKeys() {
        let event: JSON = ["anonymousId": "a-1", "userId": "u-1"]
        XCTAssertEqual(MessageKey.ingest(workspaceId: "acme", event: event), "acme:a-1")
        XCTAssertEqual(MessageKey.deliver(destinationId: "dest-9", event: event), "dest-9:a-1")
        XCTAssertEqual(MessageKey.ingest(workspaceId: "acme", userKey: "u"), "acme:u")
        XCTAssertEqual(MessageKey.deliver(destinationId: "d", userKey: ""), "d:")
    }
}

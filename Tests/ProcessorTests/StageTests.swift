import Destinations
import EventModel
import ProcessorService
import WorkspaceConfig
import XCTest

final class TimestampCorrectionTests: XCTestCase {
    func corrected(_ event: JSON) -> String? {
        var event = event
        TimestampCorrection.apply(to: &event)
        return event["timestamp"]?.stringValue
    }

    func testClockSkewIsRemovedWhenTimestampIsAbsent() {
        // The client's clock is 10 minutes fast: sent 12:10 by its clock, received 12:00:05.
        let event: JSON = [
            "receivedAt": "2026-11-29T12:00:05.000Z", "sentAt": "2026-11-29T12:10:00.000Z",
            "originalTimestamp": "2026-11-29T12:09:30.000Z",
        ]
        XCTAssertEqual(corrected(event), "2026-11-29T11:59:35.000Z")
    }

    func testOffsetsInTimesAreHonoured() {
        let event: JSON = [
            "receivedAt": "2026-11-29T12:00:00.000Z", "sentAt": "2026-11-29T13:00:01+01:00",
            "originalTimestamp": "2026-11-29T13:00:00+01:00",
        ]
        XCTAssertEqual(corrected(event), "2026-11-29T11:59:59.000Z")
    }

    func testPresentTimestampIsKept() {
        let event: JSON = ["receivedAt": "2026-11-29T12:00:00.000Z", "timestamp": "2020-01-01T00:00:00Z", "sentAt": "x"]
        XCTAssertEqual(corrected(event), "2020-01-01T00:00:00Z")
    }

    func testUnparseableTimesFallBackToReceivedAt() {
        XCTAssertEqual(
            corrected(["receivedAt": "2026-11-29T12:00:00.000Z", "sentAt": "yesterday", "originalTimestamp": "2026-11-29T11:00:00Z"]),
            "2026-11-29T12:00:00.000Z")
        XCTAssertEqual(corrected(["receivedAt": "2026-11-29T12:00:00.000Z"]), "2026-11-29T12:00:00.000Z")
        XCTAssertEqual(
            corrected(["receivedAt": "2026-11-29T12:00:00.000Z", "timestamp": "not a time"]), "2026-11-29T12:00:00.000Z")
        XCTAssertEqual(
            corrected(["receivedAt": "2026-11-29T12:00:00.000Z", "timestamp": 12345]), "2026-11-29T12:00:00.000Z")
    }

    func testWithoutReceivedAtNothingChanges() {
        XCTAssertNil(corrected(["sentAt": "2026-11-29T12:00:00Z", "originalTimestamp": "2026-11-29T12:00:00Z"]))
    }
}

final class IntegrationsFilterTests: XCTestCase {
    let keys = ["cio-prod", "CIO production", "Customer.io", "CUSTOMERIO"]

    func allows(_ integrations: JSON?) -> Bool { IntegrationsFilter.allows(integrations, keys: keys) }

    func testMatrix() {
        let cases: [(JSON?, Bool, String)] = [
            (nil, true, "no integrations object"),
            ([:], true, "All missing means true"),
            (["All": true], true, "All true"),
            (["All": false], false, "All false"),
            (["All": "yes"], false, "non-boolean All sends nowhere"),
            (["All": .null], false, "null All sends nowhere"),
            (["All": "yes", "Customer.io": true], false, "non-boolean All wins over a destination key"),
            (["All": false, "Customer.io": true], true, "display name true overrides All false"),
            (["All": true, "Customer.io": false], false, "display name false overrides All true"),
            (["All": false, "Customer.io": ["apiKey": "x"]], true, "an options object sends"),
            (["All": false, "cio-prod": true], true, "the destination id is a key"),
            (["All": true, "cio-prod": false, "Customer.io": true], false, "the id comes before the display name"),
            (["All": false, "CIO production": true], true, "the destination name is a key"),
            (["All": false, "CUSTOMERIO": true], true, "a type alias is a key"),
            (["All": false, "Google Analytics 4": true], false, "another destination's key does not count"),
            (["All": false, "Customer.io": "true"], false, "a string value is ignored: All decides"),
            ("not an object", true, "a non-object integrations is ignored"),
        ]
        for (integrations, expected, why) in cases {
            XCTAssertEqual(allows(integrations), expected, why)
        }
    }
}

final class EventFilterStageTests: XCTestCase {
    let all = Set(MessageType.allCases)

    func testSupportedMessageTypes() {
        XCTAssertEqual(
            EventFilterStage.check(messageType: .alias, eventName: nil, supported: [.track, .page], filter: nil),
            .unsupportedMessageType)
        XCTAssertEqual(EventFilterStage.check(messageType: .page, eventName: nil, supported: [.track, .page], filter: nil), .pass)
    }

    func testAllowList() {
        let filter = EventFilter.allow(["Order Completed", "identify"])
        XCTAssertEqual(EventFilterStage.check(messageType: .track, eventName: "Order Completed", supported: all, filter: filter), .pass)
        XCTAssertEqual(EventFilterStage.check(messageType: .track, eventName: "Cart Viewed", supported: all, filter: filter), .notAllowed)
        XCTAssertEqual(EventFilterStage.check(messageType: .identify, eventName: nil, supported: all, filter: filter), .pass)
        XCTAssertEqual(EventFilterStage.check(messageType: .page, eventName: nil, supported: all, filter: filter), .notAllowed)
        XCTAssertEqual(EventFilterStage.check(messageType: .track, eventName: nil, supported: all, filter: filter), .notAllowed)
    }

    func testDenyList() {
        let filter = EventFilter.deny(["Heartbeat", "page"])
        XCTAssertEqual(EventFilterStage.check(messageType: .track, eventName: "Heartbeat", supported: all, filter: filter), .denied)
        XCTAssertEqual(EventFilterStage.check(messageType: .track, eventName: "Signed Up", supported: all, filter: filter), .pass)
        XCTAssertEqual(EventFilterStage.check(messageType: .page, eventName: nil, supported: all, filter: filter), .denied)
        XCTAssertEqual(EventFilterStage.check(messageType: .track, eventName: "heartbeat", supported: all, filter: filter), .pass,
            "names match exactly")
    }
}

final class ConsentFilterTests: XCTestCase {
    func event(denied: JSON) -> JSON { ["context": ["consentManagement": ["deniedConsentIds": denied]]] }

    func testDeniedCategoryBlocks() {
        XCTAssertFalse(ConsentFilter.allows(event(denied: ["marketing", "C0004"]), categories: ["C0004"]))
        XCTAssertFalse(ConsentFilter.allows(event(denied: ["analytics"]), categories: ["marketing", "analytics"]),
            "any configured category denied blocks")
    }

    func testOtherwiseAllowed() {
        XCTAssertTrue(ConsentFilter.allows(event(denied: ["marketing"]), categories: ["analytics"]))
        XCTAssertTrue(ConsentFilter.allows(event(denied: []), categories: ["analytics"]))
        XCTAssertTrue(ConsentFilter.allows(["type": "track"], categories: ["analytics"]), "no consent data")
        XCTAssertTrue(ConsentFilter.allows(event(denied: ["analytics"]), categories: []), "destination needs no consent")
    }
}

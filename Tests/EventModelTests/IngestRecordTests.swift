import XCTest

@testable import EventModel

final class IngestRecordTests: XCTestCase {
    func testSerializesInTheDocumentedShape() {
        let record = IngestRecord(workspaceId: "acme", sourceId: "web", event: ["type": "track", "event": "Signed Up"])
        XCTAssertEqual(
            String(decoding: record.serialized(), as: UTF8.self),
            #"{"workspaceId":"acme","sourceId":"web","event":{"type":"track","event":"Signed Up"}}"#)
    }

    func testRoundTrips() throws {
        let record = IngestRecord(
            workspaceId: "ws\"1", sourceId: "src/ü",
            event: ["messageId": "m", "properties": ["n": 1.25, "big": .int(Int64.max)], "context": [:]])
        XCTAssertEqual(try IngestRecord(parsing: record.serialized()), record)
        let bytes = record.serialized()
        try bytes.withUnsafeBytes { XCTAssertEqual(try IngestRecord(parsing: $0), record) }
    }

    func testSplicedBytesParseAsARecord() throws {
        // What the gateway does: prefix, the client's event bytes untouched, suffix.
        let eventBytes = Array(#"{"type":"identify","userId":"u1","traits":{"plan":"pro"}}"#.utf8)
        var value: [UInt8] = []
        IngestRecord.serializePrefix(workspaceId: "acme", sourceId: "ios", into: &value)
        value += eventBytes
        value += IngestRecord.suffix
        let record = try IngestRecord(parsing: value)
        XCTAssertEqual(record.workspaceId, "acme")
        XCTAssertEqual(record.sourceId, "ios")
        XCTAssertEqual(record.event, try JSON(parsing: eventBytes))
    }

    func testRejectsValuesThatAreNotRecords() {
        let cases: [(String, EnvelopeError.Code)] = [
            ("{", .invalidJSON),
            ("[]", .wrongType),
            (#"{"sourceId":"s","event":{}}"#, .missingField),
            (#"{"workspaceId":1,"sourceId":"s","event":{}}"#, .wrongType),
            (#"{"workspaceId":"w","event":{}}"#, .missingField),
            (#"{"workspaceId":"w","sourceId":"s"}"#, .missingField),
            (#"{"workspaceId":"w","sourceId":"s","event":"x"}"#, .wrongType),
        ]
        for (text, code) in cases {
            XCTAssertThrowsError(try IngestRecord(parsing: Array(text.utf8)), text) { error in
                XCTAssertEqual((error as? EnvelopeError)?.code, code, text)
            }
        }
    }

    func testErrorDescriptionDoesNotLeakThePayload() {
        XCTAssertThrowsError(try IngestRecord(parsing: Array(#"{"workspaceId":"w","sourceId":"s","event":"secret-token"}"#.utf8))) { error in
            XCTAssertFalse(String(describing: error).contains("secret-token"))
        }
    }
}

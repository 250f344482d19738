import Destinations
import EventModel
import XCTest

final class EnvelopeTests: XCTestCase {
    func testDeliveryJobRoundTripsThroughItsWireForm() throws {
        let job = DeliveryJob(
            workspaceId: "acme", sourceId: "web", destinationId: "cio-1", destinationType: "customerio", messageId: "m-1",
            userKey: "anon-1", eventType: "track", eventName: "Signed Up", receivedAt: "2026-11-29T12:00:00.000Z",
            requests: [
                DestinationRequest(method: .post, url: "https://x/y", headers: [("A", "b")], body: .json(["k": 1])),
                DestinationRequest(method: .get, url: "https://x/z?q=1"),
                DestinationRequest(method: .post, url: "https://x/f", body: .form([("a", "1"), ("b", "two")])),
            ])
        let bytes = job.serialized()
        let text = String(decoding: bytes, as: UTF8.self)
        XCTAssertTrue(text.hasPrefix(#"{"workspaceId":"acme","sourceId":"web","destinationId":"cio-1""#), text)
        XCTAssertTrue(text.contains(#""attempt":0"#))
        XCTAssertTrue(text.contains(#""bodyFormat":"none""#))
        XCTAssertEqual(try DeliveryJob(parsing: bytes), job)
        XCTAssertEqual(job.key, "cio-1:anon-1")
    }

    func testDeliveryJobRejectsMissingFieldsNamingTheField() {
        XCTAssertThrowsError(try DeliveryJob(parsing: Array(#"{"workspaceId":"a"}"#.utf8))) { error in
            XCTAssertEqual((error as? EnvelopeError)?.code, .missingField)
            XCTAssertEqual((error as? EnvelopeError)?.reason, "delivery job has no sourceId")
        }
    }

    func testBatchRowRoundTrips() throws {
        let row = BatchRow(
            workspaceId: "acme", sourceId: "web", destinationId: "wh", destinationType: "postgres", messageId: "m",
            receivedAt: "2026-11-29T12:00:00.000Z", eventType: "identify", event: ["type": "identify", "userId": "u"])
        XCTAssertEqual(try BatchRow(parsing: row.serialized()), row)
    }
}

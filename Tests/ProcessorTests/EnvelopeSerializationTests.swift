import Destinations
import EventModel
import XCTest

/// The envelopes are written straight to bytes; a consumer must read exactly what serialising
/// their JSON tree gave, whatever the strings hold.
final class EnvelopeSerializationTests: XCTestCase {
    func job(_ requests: [DestinationRequest], name: String = "Order \"Completed\"") -> DeliveryJob {
        DeliveryJob(
            workspaceId: "acme", sourceId: "web", destinationId: "hook", destinationType: "webhook", messageId: "m-1\n",
            userKey: "anon/ü", eventType: "track", eventName: name, receivedAt: "2026-11-29T12:00:00.123Z", attempt: 3,
            requests: requests)
    }

    func testDeliveryJobBytesAreThoseOfItsJSON() throws {
        let body: JSON = ["event": "Order \"Completed\"", "path": "a\\b\u{1}", "n": 1.5, "list": [1, "x", nil, true]]
        let cases: [[DestinationRequest]] = [
            [DestinationRequest(method: .post, url: "https://h.example.com/in?a=1&b=\"", headers: [("Content-Type", "application/json"), ("X-Token", "t\tq")], body: .json(body))],
            [DestinationRequest(method: .get, url: "https://h.example.com/", headers: [], body: .none)],
            [DestinationRequest(method: .post, url: "https://f.example.com", headers: [("A", "1")], body: .form([("k", "v é"), ("q", "\"")])),
             DestinationRequest(method: .delete, url: "https://d.example.com", body: .json(.string("just a string")))],
            // Repeated names: the tree keeps the first position and the last value.
            [DestinationRequest(method: .post, url: "https://r.example.com", headers: [("X", "1"), ("Y", "2"), ("X", "3")], body: .form([("a", "1"), ("a", "2")]))],
            [],
        ]
        for requests in cases {
            let job = job(requests)
            XCTAssertEqual(job.serialized(), job.json.serialized(), "\(requests)")
            XCTAssertEqual(try DeliveryJob(parsing: job.serialized()), try DeliveryJob(json: job.json))
        }
    }

    func testBatchRowBytesAreThoseOfItsJSON() throws {
        let row = BatchRow(
            workspaceId: "acme", sourceId: "web", destinationId: "lake", destinationType: "s3", messageId: "m\"1",
            receivedAt: "2026-11-29T12:00:00.123Z", eventType: "track",
            event: ["type": "track", "properties": ["note": "tab\tand \u{7f} and 😀"]])
        XCTAssertEqual(row.serialized(), row.json.serialized())
        XCTAssertEqual(try BatchRow(parsing: row.serialized()), row)
    }
}

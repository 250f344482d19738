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

    /// A repeated header or form name keeps one member in the wire form (the later value, at the
    /// earlier place, as the JSON tree has it), for a request's few headers and for many.
    func testRepeatedHeaderAndFormNamesAreWrittenAsTheTreeHasThem() throws {
        let many = (0..<12).map { ("X-\($0)", "v\($0)") }
        let cases: [[(String, String)]] = [
            [("A", "1"), ("B", "2"), ("A", "3")],
            [("A", "1"), ("B", "2"), ("C", "3"), ("B", "4")],
            many + [("X-3", "late")],
            many,
        ]
        for pairs in cases {
            let job = DeliveryJob(
                workspaceId: "w", sourceId: "s", destinationId: "d", destinationType: "webhook", messageId: "m",
                userKey: "u", eventType: "track", eventName: "E", receivedAt: "",
                requests: [
                    DestinationRequest(
                        method: .post, url: "https://x/h", headers: pairs.map { (name: $0.0, value: $0.1) }, body: .json(["k": 1])),
                    DestinationRequest(method: .post, url: "https://x/f", body: .form(pairs)),
                ])
            XCTAssertEqual(String(decoding: job.serialized(), as: UTF8.self), String(decoding: job.json.serialized(), as: UTF8.self))
            let parsed = try DeliveryJob(parsing: job.serialized())
            let names = Set(pairs.map(\.0))
            XCTAssertEqual(parsed.requests[0].headers.count, names.count)
            if pairs.first?.0 == "A", pairs.count == 3 {
                XCTAssertEqual(parsed.requests[0].headers.map(\.name), ["A", "B"])
                XCTAssertEqual(parsed.requests[0].headers.map(\.value), ["3", "2"])
            }
        }
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

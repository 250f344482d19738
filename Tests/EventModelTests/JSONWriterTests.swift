import XCTest

@testable import EventModel

final class JSONWriterTests: XCTestCase {
    func testSplicedTextIsWhatSerialisingTheWholeTreeGives() throws {
        let body: JSON = [
            "name": "Order \"Completed\"\n", "price": 19.99, "n": -42, "ok": true, "none": nil,
            "items": [["id": "sku/1", "text": .string(String(repeating: "é", count: 300))]],
        ]
        // Start small so the writer has to grow several times.
        var writer = JSONWriter(capacity: 1)
        writer.raw(#"{"id":"#)
        writer.string("a\u{1}b")
        writer.raw(#","attempt":"#)
        writer.integer(-7)
        writer.raw(#","body":"#)
        writer.value(body)
        writer.raw("}")
        let expected: JSON = ["id": "a\u{1}b", "attempt": -7, "body": body]
        let written = writer.finish()
        XCTAssertEqual(written, expected.serialized())
    }

    func testRawBytesAreCopiedAsTheyAre() {
        var writer = JSONWriter()
        writer.raw(Array(#"{"a": 1}"#.utf8))
        let count = writer.count
        let written = writer.finish()
        XCTAssertEqual(count, 8)
        XCTAssertEqual(String(decoding: written, as: UTF8.self), #"{"a": 1}"#)
    }
}

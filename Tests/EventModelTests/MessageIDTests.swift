import XCTest

@testable import EventModel

final class MessageIDTests: XCTestCase {
    func testIsALowercaseVersion4UUID() {
        for _ in 0..<1000 {
            let id = MessageID.random()
            let bytes = Array(id.utf8)
            XCTAssertEqual(bytes.count, 36)
            XCTAssertTrue(MessageID.isUUID(id), id)
            XCTAssertEqual(id, id.lowercased())
            XCTAssertEqual(bytes[14], UInt8(ascii: "4"), id)
            XCTAssertTrue("89ab".utf8.contains(bytes[19]), id)
            XCTAssertNotNil(UUID(uuidString: id), id)
        }
    }

    func testIdsAreUniqueAcrossManyPoolRefills() {
        // 256 ids per 4 KiB refill: 50,000 ids cross ~200 refills.
        var seen = Set<String>()
        for _ in 0..<50_000 { seen.insert(MessageID.random()) }
        XCTAssertEqual(seen.count, 50_000)
    }

    func testIdsAreUniqueAcrossThreads() async {
        let batches = await withTaskGroup(of: [String].self) { group in
            for _ in 0..<8 {
                group.addTask { (0..<5000).map { (_: Int) in MessageID.random() } }
            }
            var all: [[String]] = []
            for await batch in group { all.append(batch) }
            return all
        }
        let all = batches.flatMap { $0 }
        XCTAssertEqual(Set(all).count, 40_000)
    }

    func testBitsLookRandom() {
        // Every hex position other than the fixed version nibble and the variant bits takes
        // many values: catches a pool handing out zeros or repeating a block.
        let ids = (0..<2000).map { (_: Int) in Array(MessageID.random().utf8) }
        for position in 0..<36 where ![8, 13, 18, 23, 14, 19].contains(position) {
            XCTAssertEqual(Set(ids.map { $0[position] }).count, 16, "position \(position)")
        }
    }

    func testAppendRandomWritesAnID() {
        var buffer = Array("\"messageId\":\"".utf8)
        MessageID.appendRandom(to: &buffer)
        let id = String(decoding: buffer.suffix(36), as: UTF8.self)
        XCTAssertEqual(buffer.count, 13 + 36)
        XCTAssertTrue(MessageID.isUUID(id))
    }

    func testIsUUIDRejectsOtherText() {
        XCTAssertTrue(MessageID.isUUID("1B4E28BA-2FA1-11D2-883F-0016D3CCA427"))
        XCTAssertFalse(MessageID.isUUID("1b4e28ba2fa111d2883f0016d3cca427"))
        XCTAssertFalse(MessageID.isUUID("1b4e28ba-2fa1-11d2-883f-0016d3cca42g"))
        XCTAssertFalse(MessageID.isUUID(""))
    }
}

import XCTest

@testable import EventModel

final class UTF8ValidationTests: XCTestCase {
    private func parses(_ body: [UInt8]) -> Bool {
        (try? JSON(parsing: [0x22] + body + [0x22])) != nil
    }

    func testAcceptsEveryEncodingLengthAtTheBoundaries() throws {
        let valid: [[UInt8]] = [
            [0x7F], [0xC2, 0x80], [0xDF, 0xBF],  // U+0080, U+07FF
            [0xE0, 0xA0, 0x80], [0xED, 0x9F, 0xBF], [0xEE, 0x80, 0x80], [0xEF, 0xBF, 0xBF],  // U+0800, U+D7FF, U+E000, U+FFFF
            [0xF0, 0x90, 0x80, 0x80], [0xF4, 0x8F, 0xBF, 0xBF],  // U+10000, U+10FFFF
        ]
        for bytes in valid {
            XCTAssertEqual(try JSON(parsing: [0x22] + bytes + [0x22]).stringValue.map { Array($0.utf8) }, bytes, "\(bytes)")
        }
    }

    func testRejectsMalformedSequences() {
        let invalid: [[UInt8]] = [
            [0x80], [0xBF], [0xC0, 0x80], [0xC1, 0xBF],  // stray continuation, overlong 2-byte
            [0xE0, 0x9F, 0xBF], [0xF0, 0x8F, 0xBF, 0xBF],  // overlong 3- and 4-byte
            [0xED, 0xA0, 0x80], [0xED, 0xBF, 0xBF],  // surrogates
            [0xF4, 0x90, 0x80, 0x80], [0xF5, 0x80, 0x80, 0x80], [0xFF],  // above U+10FFFF
            [0xC3], [0xE2, 0x82], [0xF0, 0x9F, 0x98],  // truncated before the closing quote
            [0xC3, 0x41], [0xE2, 0x41, 0x82], [0xF0, 0x9F, 0x41, 0x80],  // continuation missing
        ]
        for bytes in invalid {
            XCTAssertFalse(parses(bytes), "\(bytes)")
            // Also after a run of ASCII long enough for the eight-byte skip.
            XCTAssertFalse(parses(Array("abcdefghijklmnop".utf8) + bytes), "\(bytes) after ASCII")
            XCTAssertFalse(parses(Array("é".utf8) + bytes + Array("abcdefghijklmnop".utf8)), "\(bytes) before ASCII")
        }
    }

    func testMixedTextOfEveryLength() throws {
        let pieces = ["a", "é", "中", "😀", "bcdefghij"]
        var generator = SeededGenerator(seed: 5)
        for _ in 0..<2000 {
            let text = (0..<Int.random(in: 0...12, using: &generator)).map { _ in pieces.randomElement(using: &generator)! }.joined()
            XCTAssertEqual(try JSON(parsing: "\"\(text)\""), .string(text))
        }
    }
}

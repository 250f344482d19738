import XCTest

@testable import EventModel

final class JSONRejectionTests: XCTestCase {
    /// Asserts that `text` is rejected with `reason` at byte `offset`.
    private func assertRejected(
        _ text: String, _ reason: String, at offset: Int, file: StaticString = #filePath, line: UInt = #line
    ) {
        XCTAssertThrowsError(try JSON(parsing: text), text.debugDescription, file: file, line: line) { error in
            XCTAssertEqual(error as? JSONError, JSONError(offset: offset, reason: reason), text.debugDescription, file: file, line: line)
        }
    }

    func testRejectsEmptyAndTruncatedInput() {
        assertRejected("", "empty input", at: 0)
        assertRejected("   ", "unexpected end of input", at: 3)
        assertRejected("[", "unexpected end of input", at: 1)
        assertRejected("[1,", "unexpected end of input", at: 3)
        assertRejected("{", "unexpected end of input", at: 1)
        assertRejected(#"{"a""#, "unexpected end of input", at: 4)
        assertRejected(#"{"a":"#, "unexpected end of input", at: 5)
        assertRejected(#"{"a":1"#, "unexpected end of input", at: 6)
        assertRejected(#""abc"#, "unterminated string", at: 4)
        assertRejected(#""abc\"#, "unterminated string", at: 5)
    }

    func testRejectsTrailingCommas() {
        assertRejected("[1,]", "trailing comma", at: 3)
        assertRejected("[1, ]", "trailing comma", at: 4)
        assertRejected(#"{"a":1,}"#, "trailing comma", at: 7)
        assertRejected("[,]", "unexpected character", at: 1)
        assertRejected("[1,,2]", "unexpected character", at: 3)
        assertRejected("{,}", "expected a string key", at: 1)
    }

    func testRejectsStructuralErrors() {
        assertRejected("[1 2]", "expected ',' or ']'", at: 3)
        assertRejected(#"{"a":1 "b":2}"#, "expected ',' or '}'", at: 7)
        assertRejected(#"{"a" 1}"#, "expected ':'", at: 5)
        assertRejected("{a:1}", "expected a string key", at: 1)
        assertRejected("{1:1}", "expected a string key", at: 1)
        assertRejected("[1}", "expected ',' or ']'", at: 2)
        assertRejected(#"{"a":1]"#, "expected ',' or '}'", at: 6)
        assertRejected("{} {}", "unexpected content after the value", at: 3)
        assertRejected("1 2", "unexpected content after the value", at: 2)
        assertRejected("]", "unexpected character", at: 0)
    }

    func testRejectsNonJSONLiteralsAndComments() {
        assertRejected("tru", "invalid literal", at: 0)
        assertRejected("trux", "invalid literal", at: 3)
        assertRejected("True", "unexpected character", at: 0)
        assertRejected("nul", "invalid literal", at: 0)
        assertRejected("falsey", "unexpected content after the value", at: 5)
        assertRejected("NaN", "unexpected character", at: 0)
        assertRejected("Infinity", "unexpected character", at: 0)
        assertRejected("-Infinity", "invalid number", at: 1)
        assertRejected("undefined", "unexpected character", at: 0)
        assertRejected("'a'", "unexpected character", at: 0)
        assertRejected("[1] // c", "unexpected content after the value", at: 4)
        assertRejected("/* c */ 1", "unexpected character", at: 0)
        assertRejected("\u{FEFF}1", "unexpected character", at: 0)
    }

    func testRejectsMalformedNumbers() {
        assertRejected("01", "leading zero in number", at: 1)
        assertRejected("-01", "leading zero in number", at: 2)
        assertRejected("00", "leading zero in number", at: 1)
        assertRejected("+1", "unexpected character", at: 0)
        assertRejected(".5", "unexpected character", at: 0)
        assertRejected("-", "invalid number", at: 1)
        assertRejected("-a", "invalid number", at: 1)
        assertRejected("1.", "invalid number: digits expected after '.'", at: 2)
        assertRejected("1.e5", "invalid number: digits expected after '.'", at: 2)
        assertRejected("1e", "invalid number: digits expected in exponent", at: 2)
        assertRejected("1e+", "invalid number: digits expected in exponent", at: 3)
        assertRejected("0x10", "unexpected content after the value", at: 1)
        assertRejected("1e400", "number out of range", at: 0)
        assertRejected("[-1e400]", "number out of range", at: 1)
        assertRejected("1" + String(repeating: "0", count: 400), "number out of range", at: 0)
    }

    func testRejectsBadStrings() {
        assertRejected("\"a\tb\"", "control character in string", at: 2)
        assertRejected("\"a\nb\"", "control character in string", at: 2)
        assertRejected("\"\u{0}\"", "control character in string", at: 1)
        assertRejected("\"\\n\u{1F}\"", "control character in string", at: 3)
        assertRejected("\"0123456789\u{7}\"", "control character in string", at: 11)
        assertRejected(#""\x""#, "invalid escape", at: 2)
        assertRejected(#""\'""#, "invalid escape", at: 2)
        assertRejected(#""\U0041""#, "invalid escape", at: 2)
        assertRejected(#""\u12""#, #"invalid \u escape"#, at: 3)
        assertRejected(#""\u12G4""#, #"invalid \u escape"#, at: 5)
        assertRejected(#""\ud83d\u""#, #"invalid \u escape"#, at: 9)
        assertRejected(#""\ud83d\uZZZZ""#, #"invalid \u escape"#, at: 9)
    }

    func testRejectsInvalidUTF8() {
        let cases: [[UInt8]] = [
            [0x22, 0xFF, 0x22],  // never valid
            [0x22, 0xC3, 0x22],  // truncated sequence
            [0x22, 0xC0, 0xAF, 0x22],  // overlong "/"
            [0x22, 0xED, 0xA0, 0x80, 0x22],  // encoded surrogate
            [0x22, 0xF4, 0x90, 0x80, 0x80, 0x22],  // above U+10FFFF
        ]
        for bytes in cases {
            XCTAssertThrowsError(try JSON(parsing: bytes), "\(bytes)") { error in
                XCTAssertEqual((error as? JSONError)?.reason, "invalid UTF-8 in string")
            }
        }
        // Invalid bytes after an escape take the slow path: still rejected.
        XCTAssertThrowsError(try JSON(parsing: [0x22, 0x5C, 0x6E, 0xFF, 0x22]))
        // Invalid bytes in an object key.
        XCTAssertThrowsError(try JSON(parsing: [0x7B, 0x22, 0xFF, 0x22, 0x3A, 0x31, 0x7D]))
    }

    func testMutatedInputNeverCrashesAndAcceptedInputIsStable() throws {
        // Flip, drop and insert bytes in valid documents: the parser must either throw or return
        // a value that serialises and parses back to itself.
        var generator = SeededGenerator(seed: 99)
        let alphabet = Array(#"{}[]":,\-+.0123456789eEtrufalsn \#tu"#.utf8) + [0x00, 0x1F, 0x80, 0xC3, 0xFF]
        var accepted = 0
        for _ in 0..<3000 {
            var bytes = randomJSON(depth: 2, using: &generator).serialized()
            for _ in 0..<Int.random(in: 1...3, using: &generator) {
                let position = Int.random(in: 0...bytes.count, using: &generator)
                let byte = alphabet.randomElement(using: &generator)!
                switch Int.random(in: 0...2, using: &generator) {
                case 0 where position < bytes.count: bytes[position] = byte
                case 1 where position < bytes.count: bytes.remove(at: position)
                default: bytes.insert(byte, at: position)
                }
            }
            guard let value = try? JSON(parsing: bytes) else { continue }
            accepted += 1
            XCTAssertEqual(try JSON(parsing: value.serialized()), value)
        }
        XCTAssertGreaterThan(accepted, 0)
    }

    func testErrorDescriptionIsSafeToShow() {
        XCTAssertThrowsError(try JSON(parsing: #"{"password":"hunter2",}"#)) { error in
            let description = String(describing: error)
            XCTAssertEqual(description, "invalid JSON at byte 22: trailing comma")
            XCTAssertFalse(description.contains("hunter2"))
        }
    }
}

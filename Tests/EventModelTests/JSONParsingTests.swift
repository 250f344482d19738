import XCTest

@testable import EventModel

final class JSONParsingTests: XCTestCase {
    func testParsesEveryKindOfValue() throws {
        let json = try JSON(parsing: #" {"s":"x","i":-12,"d":1.5,"t":true,"f":false,"n":null,"a":[1,[]],"o":{"k":{}}} "#)
        XCTAssertEqual(json["s"], .string("x"))
        XCTAssertEqual(json["i"], .int(-12))
        XCTAssertEqual(json["d"], .double(1.5))
        XCTAssertEqual(json["t"], .bool(true))
        XCTAssertEqual(json["f"], .bool(false))
        XCTAssertEqual(json["n"], .null)
        XCTAssertEqual(json["a"], .array([.int(1), .array([])]))
        XCTAssertEqual(json["o"], .object(["k": .object([:])]))
    }

    func testAcceptsScalarsAtTopLevelAndAllWhitespaceKinds() throws {
        XCTAssertEqual(try JSON(parsing: "\t\r\n 42 \n"), .int(42))
        XCTAssertEqual(try JSON(parsing: #""hi""#), .string("hi"))
        XCTAssertEqual(try JSON(parsing: "null"), .null)
        XCTAssertEqual(try JSON(parsing: "[ 1 , 2 ]"), [1, 2])
        XCTAssertEqual(try JSON(parsing: "{ \"a\" : 1 }"), ["a": 1])
    }

    func testKeepsKeysInDocumentOrder() throws {
        let json = try JSON(parsing: #"{"zeta":1,"alpha":2,"mid":3}"#)
        XCTAssertEqual(json.objectValue?.keys, ["zeta", "alpha", "mid"])
        XCTAssertEqual(json.jsonString, #"{"zeta":1,"alpha":2,"mid":3}"#)
    }

    func testRepeatedKeyKeepsFirstPositionAndLastValue() throws {
        let json = try JSON(parsing: #"{"a":1,"b":2,"a":3}"#)
        XCTAssertEqual(json.objectValue?.keys, ["a", "b"])
        XCTAssertEqual(json["a"], 3)
        // Same in a large object, which uses the hash index.
        let keys = (0..<40).map { "\"k\($0)\":\($0)" }.joined(separator: ",")
        let large = try JSON(parsing: "{\(keys),\"k5\":\"last\"}")
        XCTAssertEqual(large.objectValue?.count, 40)
        XCTAssertEqual(large["k5"], "last")
        XCTAssertEqual(large.objectValue?.keys[5], "k5")
    }

    func testParsesFromAllInputForms() throws {
        let text = #"{"a":[1,"two"]}"#
        let expected: JSON = ["a": [1, "two"]]
        XCTAssertEqual(try JSON(parsing: text), expected)
        XCTAssertEqual(try JSON(parsing: Array(text.utf8)), expected)
        let bytes = Array(text.utf8)
        try bytes.withUnsafeBytes { XCTAssertEqual(try JSON(parsing: $0), expected) }
        // A slice in the middle of a larger buffer: the parser must stop at the slice end.
        let framed = Array("xx\(text)yy".utf8)
        try framed.withUnsafeBytes { XCTAssertEqual(try JSON(parsing: UnsafeRawBufferPointer(rebasing: $0[2..<(2 + bytes.count)])), expected) }
    }

    func testParsesNonContiguousStringInput() throws {
        // A bridged or substring-backed String still parses.
        let text = String(#"  {"a":"é"}  "#.dropFirst(2).dropLast(2))
        XCTAssertEqual(try JSON(parsing: text), ["a": "é"])
    }

    // MARK: Strings and Unicode

    func testDecodesAllEscapes() throws {
        let json = try JSON(parsing: #""\"\\\/\b\f\n\r\t\u0041\u00e9\u4e2d""#)
        XCTAssertEqual(json, .string("\"\\/\u{08}\u{0C}\n\r\tAé中"))
    }

    func testDecodesSurrogatePairsAndRawUTF8() throws {
        XCTAssertEqual(try JSON(parsing: #""\ud83d\ude00""#), .string("😀"))
        XCTAssertEqual(try JSON(parsing: #""\uD83D\uDE00 upper""#), .string("😀 upper"))
        XCTAssertEqual(try JSON(parsing: "\"😀 中文 é\""), .string("😀 中文 é"))
        XCTAssertEqual(try JSON(parsing: #""\u0000""#), .string("\u{0}"))
    }

    func testReplacesLoneSurrogatesWithReplacementCharacter() throws {
        XCTAssertEqual(try JSON(parsing: #""\ud800""#), .string("\u{FFFD}"))
        XCTAssertEqual(try JSON(parsing: #""a\udc00b""#), .string("a\u{FFFD}b"))
        // High surrogate followed by a non-surrogate escape: both are kept, in order.
        XCTAssertEqual(try JSON(parsing: #""\ud800\u0041""#), .string("\u{FFFD}A"))
        // Two high surrogates then a low one: the second pairs with the low one.
        XCTAssertEqual(try JSON(parsing: #""\ud83d\ud83d\ude00""#), .string("\u{FFFD}😀"))
        XCTAssertEqual(try JSON(parsing: #""\ud800\n""#), .string("\u{FFFD}\n"))
    }

    func testLongStringsCrossingTheEightByteScan() throws {
        for length in 0..<40 {
            let body = String(repeating: "a", count: length)
            XCTAssertEqual(try JSON(parsing: "\"\(body)\""), .string(body))
            XCTAssertEqual(try JSON(parsing: "\"\(body)\\n\(body)\""), .string(body + "\n" + body))
            XCTAssertEqual(try JSON(parsing: "[\"\(body)\",\"é\(body)\"]"), [.string(body), .string("é" + body)])
        }
    }

    // MARK: Numbers

    func testIntegersAtInt64Limits() throws {
        XCTAssertEqual(try JSON(parsing: "9223372036854775807"), .int(Int64.max))
        XCTAssertEqual(try JSON(parsing: "-9223372036854775808"), .int(Int64.min))
        XCTAssertEqual(try JSON(parsing: "9223372036854775808"), .double(9_223_372_036_854_775_808))
        XCTAssertEqual(try JSON(parsing: "-9223372036854775809"), .double(-9_223_372_036_854_775_808))
        XCTAssertEqual(try JSON(parsing: "18446744073709551616"), .double(18_446_744_073_709_551_616))
        XCTAssertEqual(try JSON(parsing: "0"), .int(0))
        XCTAssertEqual(try JSON(parsing: "-0"), .int(0))
        XCTAssertEqual(try JSON(parsing: "1234567890123456789"), .int(1_234_567_890_123_456_789))
    }

    func testFractionsAndExponentsAreDoubles() throws {
        XCTAssertEqual(try JSON(parsing: "1.0"), .double(1))
        XCTAssertEqual(try JSON(parsing: "1e2"), .double(100))
        XCTAssertEqual(try JSON(parsing: "1E+2"), .double(100))
        XCTAssertEqual(try JSON(parsing: "-2.5e-3"), .double(-0.0025))
        XCTAssertEqual(try JSON(parsing: "0.000001"), .double(0.000001))
        XCTAssertEqual(try JSON(parsing: "1e-400"), .double(0))
        XCTAssertEqual(try JSON(parsing: "1.7976931348623157e308"), .double(.greatestFiniteMagnitude))
        XCTAssertEqual(try JSON(parsing: "5e-324"), .double(.leastNonzeroMagnitude))
        XCTAssertEqual(try JSON(parsing: "0.1"), .double(0.1))
        XCTAssertEqual(try JSON(parsing: "1732881600.123"), .double(1_732_881_600.123))
    }

    func testDecimalConversionIsCorrectlyRounded() throws {
        // Compare against the standard library's correctly rounded conversion, across the fast
        // path (few digits, small exponent) and the slow path (many digits, large exponent).
        var generator = SeededGenerator(seed: 42)
        for _ in 0..<20_000 {
            let digits = Int.random(in: 1...25, using: &generator)
            var text = Bool.random(using: &generator) ? "-" : ""
            text += String(Int.random(in: 1...9, using: &generator))
            for _ in 1..<digits { text += String(Int.random(in: 0...9, using: &generator)) }
            let point = Int.random(in: 1...digits, using: &generator)
            if point < digits {
                text.insert(".", at: text.index(text.endIndex, offsetBy: -(digits - point)))
                if text.hasSuffix(".") { text += "0" }
            }
            text += "e\(Int.random(in: -30...30, using: &generator))"
            let expected = try XCTUnwrap(Double(text))
            XCTAssertEqual(try JSON(parsing: text).doubleValue?.bitPattern, expected.bitPattern, text)
        }
        // Known hard cases.
        for text in ["2.2250738585072011e-308", "9007199254740993", "9007199254740993.0", "0.30000000000000004",
                     "123456789012345678901234567890e-10", "4.9406564584124654e-324", "1.00000000000000011102230246251565404236316680908203125"] {
            XCTAssertEqual(try JSON(parsing: text).doubleValue, Double(text), text)
        }
    }

    // MARK: Nesting

    func testNestingUpToTheLimitIsAccepted() throws {
        let depth = JSON.maximumDepth
        let text = String(repeating: "[", count: depth) + String(repeating: "]", count: depth)
        var value = try JSON(parsing: text)
        var levels = 0
        while case .array(let inner) = value {
            levels += 1
            value = inner.first ?? .null
        }
        XCTAssertEqual(levels, depth)
        let objects = String(repeating: #"{"a":"#, count: depth) + "1" + String(repeating: "}", count: depth)
        XCTAssertNoThrow(try JSON(parsing: objects))
    }

    func testNestingUpToTheLimitOffTheMainThread() async throws {
        // Services parse on Swift concurrency's worker threads, whose stacks are smaller.
        let depth = JSON.maximumDepth
        let parsed = try await Task.detached {
            let text = String(repeating: #"{"a":["#, count: depth / 2) + String(repeating: "]}", count: depth / 2)
            return try JSON(parsing: text).jsonString.utf8.count
        }.value
        XCTAssertEqual(parsed, depth / 2 * 8)
    }

    func testNestingBeyondTheLimitIsRejectedWithoutCrashing() {
        for depth in [JSON.maximumDepth + 1, 100_000] {
            let text = String(repeating: "[", count: depth) + String(repeating: "]", count: depth)
            XCTAssertThrowsError(try JSON(parsing: text)) { error in
                XCTAssertEqual((error as? JSONError)?.reason, "nesting too deep")
                XCTAssertEqual((error as? JSONError)?.offset, JSON.maximumDepth)
            }
        }
        let objects = String(repeating: #"{"a":"#, count: 10_000)
        XCTAssertThrowsError(try JSON(parsing: objects))
    }
}

/// A deterministic generator (SplitMix64) so property tests are reproducible.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

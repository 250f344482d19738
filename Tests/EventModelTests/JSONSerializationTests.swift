import Foundation
import XCTest

@testable import EventModel

final class JSONSerializationTests: XCTestCase {
    func testWritesCompactTextWithKeysInOrder() {
        let json: JSON = ["b": 1, "a": [true, false, nil], "c": ["x": "y"], "d": [], "e": [:]]
        XCTAssertEqual(json.jsonString, #"{"b":1,"a":[true,false,null],"c":{"x":"y"},"d":[],"e":{}}"#)
        XCTAssertEqual(json.serialized(), Array(json.jsonString.utf8))
    }

    func testEscapesOnlyWhatJSONRequires() {
        let json = JSON.string("quote\" backslash\\ slash/ newline\n tab\t cr\r bs\u{08} ff\u{0C} nul\u{0} us\u{1F} del\u{7F} é 😀")
        XCTAssertEqual(
            json.jsonString,
            #""quote\" backslash\\ slash/ newline\n tab\t cr\r bs\b ff\f nul\u0000 us\u001f del"# + "\u{7F} é 😀\"")
    }

    func testEscapesAtEveryPositionOfLongStrings() throws {
        // The escaping scan skips eight bytes at a time: put the special byte everywhere.
        let specials: [(Character, String)] = [("\"", #"\""#), ("\\", #"\\"#), ("\n", #"\n"#), ("\u{1}", #"\u0001"#), ("é", "é")]
        for length in 1..<24 {
            for position in 0..<length {
                for (special, escaped) in specials {
                    var text = String(repeating: "x", count: length)
                    var expected = text
                    text.replaceSubrange(text.index(text.startIndex, offsetBy: position)...text.index(text.startIndex, offsetBy: position), with: String(special))
                    expected.replaceSubrange(expected.index(expected.startIndex, offsetBy: position)...expected.index(expected.startIndex, offsetBy: position), with: escaped)
                    XCTAssertEqual(JSON.string(text).jsonString, "\"\(expected)\"")
                    XCTAssertEqual(try JSON(parsing: JSON.string(text).serialized()), .string(text))
                }
            }
        }
    }

    func testEscapesKeysToo() {
        let json: JSON = ["a\"b\n": 1]
        XCTAssertEqual(json.jsonString, #"{"a\"b\n":1}"#)
    }

    func testSerializeIntoAppendsToExistingBytes() {
        var buffer = Array("prefix:".utf8)
        JSON.array([1, "x"]).serialize(into: &buffer)
        XCTAssertEqual(String(decoding: buffer, as: UTF8.self), #"prefix:[1,"x"]"#)
    }

    func testIntegersAreExact() {
        XCTAssertEqual(JSON.int(0).jsonString, "0")
        XCTAssertEqual(JSON.int(7).jsonString, "7")
        XCTAssertEqual(JSON.int(-7).jsonString, "-7")
        XCTAssertEqual(JSON.int(10).jsonString, "10")
        XCTAssertEqual(JSON.int(Int64.max).jsonString, "9223372036854775807")
        XCTAssertEqual(JSON.int(Int64.min).jsonString, "-9223372036854775808")
    }

    func testDoublesRoundTripAndNonFiniteBecomesNull() throws {
        XCTAssertEqual(JSON.double(1.5).jsonString, "1.5")
        XCTAssertEqual(JSON.double(5).jsonString, "5.0")
        XCTAssertEqual(JSON.double(0.1).jsonString, "0.1")
        XCTAssertEqual(JSON.double(1e-7).jsonString, "1e-07")
        XCTAssertEqual(JSON.double(.nan).jsonString, "null")
        XCTAssertEqual(JSON.double(.infinity).jsonString, "null")
        XCTAssertEqual(JSON.double(-.infinity).jsonString, "null")
        XCTAssertEqual(JSON.array([.double(.nan)]).jsonString, "[null]")
        var generator = SeededGenerator(seed: 7)
        for _ in 0..<20_000 {
            let value = Double(bitPattern: generator.next())
            guard value.isFinite else { continue }
            let text = JSON.double(value).jsonString
            XCTAssertEqual(try JSON(parsing: text).doubleValue?.bitPattern, value.bitPattern, text)
        }
        for value in [Double.greatestFiniteMagnitude, .leastNonzeroMagnitude, .leastNormalMagnitude, -0.0, 1e21, 1e22, 123456789.125] {
            let text = JSON.double(value).jsonString
            XCTAssertEqual(try JSON(parsing: text).doubleValue?.bitPattern, value.bitPattern, text)
        }
    }

    func testRandomValuesRoundTrip() throws {
        var generator = SeededGenerator(seed: 2026)
        for _ in 0..<500 {
            let value = randomJSON(depth: 0, using: &generator)
            let bytes = value.serialized()
            let parsed = try JSON(parsing: bytes)
            XCTAssertEqual(parsed, value)
            XCTAssertEqual(parsed.serialized(), bytes, "serialisation must be stable, including key order")
        }
    }

    func testOutputIsReadableByFoundation() throws {
        let json: JSON = ["s": "a/b\u{1}\"é😀", "n": [1, -2.5, 1e300, nil], "b": true]
        let object = try JSONSerialization.jsonObject(with: Data(json.serialized())) as? [String: Any]
        XCTAssertEqual(object?["s"] as? String, "a/b\u{1}\"é😀")
        XCTAssertEqual((object?["n"] as? [Any])?.count, 4)
    }

    func testAgreesWithFoundationOnARealisticEvent() throws {
        let text = #"{"anonymousId":"a1","context":{"traits":{"email":"x@y.z","age":31},"page":{"url":"https://e.com/a?b=c"}},"properties":{"price":9.99,"ids":[1,2,3]},"type":"track"}"#
        let ours = try JSON(parsing: text)
        let theirs = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? NSDictionary
        let ourText = ours.serialized()
        let reparsed = try JSONSerialization.jsonObject(with: Data(ourText)) as? NSDictionary
        XCTAssertEqual(theirs, reparsed)
        XCTAssertEqual(String(decoding: ourText, as: UTF8.self), text)
    }
}

/// A random JSON value with every kind of scalar, odd strings and nesting.
func randomJSON(depth: Int, using generator: inout SeededGenerator) -> JSON {
    let kind = depth > 4 ? Int.random(in: 0...5, using: &generator) : Int.random(in: 0...7, using: &generator)
    switch kind {
    case 0: return .null
    case 1: return .bool(Bool.random(using: &generator))
    case 2:
        let choices: [Int64] = [0, 1, -1, .max, .min, Int64.random(in: .min ... .max, using: &generator)]
        return .int(choices.randomElement(using: &generator)!)
    case 3:
        let value = Double(bitPattern: generator.next())
        return .double(value.isFinite ? value : 0.5)
    case 4, 5:
        return .string(randomString(using: &generator))
    case 6:
        return .array((0..<Int.random(in: 0...5, using: &generator)).map { _ in randomJSON(depth: depth + 1, using: &generator) })
    default:
        var object = JSONObject()
        for _ in 0..<Int.random(in: 0...20, using: &generator) {
            object[randomString(using: &generator)] = randomJSON(depth: depth + 1, using: &generator)
        }
        return .object(object)
    }
}

func randomString(using generator: inout SeededGenerator) -> String {
    let pieces = ["a", "key", "\"", "\\", "/", "\n", "\u{0}", "\u{1F}", "é", "中", "😀", "\u{2028}", " ", "0123456789abcdef"]
    var text = ""
    for _ in 0..<Int.random(in: 0...12, using: &generator) { text += pieces.randomElement(using: &generator)! }
    return text
}

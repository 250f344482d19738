import XCTest

@testable import EventModel

final class JSONObjectTests: XCTestCase {
    func testSettingKeepsPositionAndNewKeysAppend() {
        var object: JSONObject = ["a": 1, "b": 2]
        object["a"] = 10
        object["c"] = 3
        XCTAssertEqual(object.keys, ["a", "b", "c"])
        XCTAssertEqual(object["a"], 10)
        XCTAssertEqual(object.count, 3)
        XCTAssertEqual(object.values, [10, 2, 3])
    }

    func testSettingNilAndRemoveValueDeleteTheKey() {
        var object: JSONObject = ["a": 1, "b": 2, "c": 3]
        object["b"] = nil
        XCTAssertEqual(object.keys, ["a", "c"])
        XCTAssertEqual(object.removeValue(forKey: "a"), 1)
        XCTAssertNil(object.removeValue(forKey: "missing"))
        XCTAssertEqual(object.keys, ["c"])
        XCTAssertFalse(object.isEmpty)
        object["c"] = nil
        XCTAssertTrue(object.isEmpty)
        XCTAssertNil(object["c"])
    }

    func testStoringNullIsNotRemoving() {
        var object = JSONObject()
        object["a"] = .null
        XCTAssertEqual(object["a"], .null)
        XCTAssertTrue(object.contains(key: "a"))
    }

    func testLargeObjectsStayCorrectThroughEdits() {
        // Past the index threshold lookups use a hash index; removals shift positions.
        var object = JSONObject()
        for i in 0..<100 { object["k\(i)"] = .int(Int64(i)) }
        for i in stride(from: 0, to: 100, by: 3) { object["k\(i)"] = nil }
        object["k1"] = "changed"
        object.insert("first", forKey: "new", at: 0)
        XCTAssertEqual(object.keys.first, "new")
        XCTAssertEqual(object["k1"], "changed")
        XCTAssertNil(object["k0"])
        XCTAssertEqual(object["k98"], 98)
        XCTAssertEqual(object.count, 1 + 100 - 34)
        for (position, key) in object.keys.enumerated() {
            XCTAssertEqual(object.keys[position], key)
            XCTAssertNotNil(object[key], key)
        }
        while object.count > 3 { object.removeValue(forKey: object.keys.last!) }
        XCTAssertEqual(object.keys, ["new", "k1", "k2"])
        XCTAssertEqual(object["k2"], 2)
    }

    func testInsertPlacesOrMovesAKey() {
        var object: JSONObject = ["a": 1, "b": 2, "c": 3]
        object.insert("x", forKey: "messageId", at: 1)
        XCTAssertEqual(object.keys, ["a", "messageId", "b", "c"])
        object.insert(9, forKey: "c", at: 0)
        XCTAssertEqual(object.keys, ["c", "a", "messageId", "b"])
        XCTAssertEqual(object["c"], 9)
        object.insert(0, forKey: "z", at: 99)
        XCTAssertEqual(object.keys.last, "z")
    }

    func testEqualityIgnoresOrderButNotContent() {
        let a: JSONObject = ["x": 1, "y": [1, 2]]
        XCTAssertEqual(a, ["y": [1, 2], "x": 1])
        XCTAssertNotEqual(a, ["x": 1, "y": [2, 1]])
        XCTAssertNotEqual(a, ["x": 1])
        XCTAssertNotEqual(a, ["x": 1, "z": [1, 2]])
        XCTAssertNotEqual(JSON.int(1), JSON.double(1))
    }

    func testIteratesInOrder() {
        let object: JSONObject = ["b": 1, "a": 2]
        XCTAssertEqual(object.map(\.key), ["b", "a"])
        XCTAssertEqual(object.map(\.value), [1, 2])
        XCTAssertEqual(JSONObject(object.filter { $0.key == "a" }), ["a": 2])
    }

    func testLiteralWithRepeatedKeyKeepsLastValue() {
        let object: JSONObject = ["a": 1, "b": 2, "a": 3]
        XCTAssertEqual(object.keys, ["a", "b"])
        XCTAssertEqual(object["a"], 3)
    }

    func testCopiesAreIndependent() {
        let original: JSON = ["a": ["b": 1]]
        var copy = original
        copy["a"] = ["b": 2]
        copy["new"] = true
        XCTAssertEqual(original, ["a": ["b": 1]])
        XCTAssertEqual(copy, ["a": ["b": 2], "new": true])
    }
}

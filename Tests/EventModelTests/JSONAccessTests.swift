import XCTest

@testable import EventModel

final class JSONAccessTests: XCTestCase {
    let event: JSON = [
        "userId": 42,
        "context": ["traits": ["email": "a@b.c"], "library": ["name": "analytics.js"]],
        "properties": ["revenue": 9.5, "quantity": 3.0, "tags": ["a", "b"], "paid": true, "coupon": nil],
    ]

    func testPathAndKeySubscripts() {
        XCTAssertEqual(event[path: "context", "traits", "email"], "a@b.c")
        XCTAssertNil(event[path: "context", "traits", "missing"])
        XCTAssertNil(event[path: "userId", "deeper"])
        XCTAssertNil(JSON.array([1])["key"])
        XCTAssertEqual(event["properties"]?["tags"]?[1], "b")
        XCTAssertNil(event["properties"]?["tags"]?[2])
        XCTAssertNil(event["properties"]?["tags"]?[-1])
        XCTAssertNil(event[0])
    }

    func testTypedAccessors() {
        XCTAssertEqual(event["userId"]?.intValue, 42)
        XCTAssertEqual(event["userId"]?.doubleValue, 42)
        XCTAssertNil(event["userId"]?.stringValue)
        XCTAssertEqual(event[path: "properties", "revenue"]?.doubleValue, 9.5)
        XCTAssertNil(event[path: "properties", "revenue"]?.intValue)
        XCTAssertEqual(event[path: "properties", "quantity"]?.intValue, 3)
        XCTAssertNil(JSON.double(1e30).intValue)
        XCTAssertNil(JSON.double(.nan).intValue)
        XCTAssertEqual(event[path: "properties", "paid"]?.boolValue, true)
        XCTAssertEqual(event[path: "properties", "tags"]?.arrayValue, ["a", "b"])
        XCTAssertEqual(event["context"]?.objectValue?.keys, ["traits", "library"])
        XCTAssertEqual(event[path: "properties", "coupon"]?.isNull, true)
        XCTAssertEqual(event["userId"]?.isNull, false)
        XCTAssertNil(JSON.string("true").boolValue)
        XCTAssertNil(JSON.string("1").intValue)
    }

    func testSettingMembers() {
        var json = event
        json["type"] = "track"
        json["userId"] = nil
        json["context"]?["traits"]?["email"] = "new@b.c"
        XCTAssertEqual(json["type"], "track")
        XCTAssertNil(json["userId"])
        XCTAssertEqual(json[path: "context", "traits", "email"], "new@b.c")
        XCTAssertEqual(json.objectValue?.keys, ["context", "properties", "type"])
    }

    func testSettingOnANonObjectDoesNothing() {
        var json: JSON = [1, 2]
        json["a"] = 1
        XCTAssertEqual(json, [1, 2])
        var string: JSON = "text"
        string["a"] = 1
        XCTAssertEqual(string, "text")
    }

    func testLiterals() {
        let json: JSON = [nil, true, 1, 1.5, "s", [1], ["k": "v"]]
        XCTAssertEqual(json, .array([.null, .bool(true), .int(1), .double(1.5), .string("s"), .array([.int(1)]), .object(["k": .string("v")])]))
        XCTAssertEqual("\(json)", #"[null,true,1,1.5,"s",[1],{"k":"v"}]"#)
    }
}

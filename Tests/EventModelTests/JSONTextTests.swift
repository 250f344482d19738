import XCTest

@testable import EventModel

/// An event's text is kept only when writing it is writing its tree: the same bytes.
final class JSONTextTests: XCTestCase {
    func record(_ event: String) -> [UInt8] {
        var bytes: [UInt8] = []
        IngestRecord.serializePrefix(workspaceId: "acme", sourceId: "web", into: &bytes)
        bytes += Array(event.utf8)
        bytes += IngestRecord.suffix
        return bytes
    }

    func written(_ text: JSONText, _ value: JSON) -> [UInt8]? {
        var writer = JSONWriter()
        guard text.write(value, to: &writer) else { return nil }
        return writer.finish()
    }

    func testCompactEventsKeepTheirTextAndWriteTheSameBytesAsTheirTree() throws {
        let events = [
            #"{"type":"track","price":19.99,"n":-3,"z":0,"small":0.005,"big":123456789012345,"f":0.5,"ok":true,"none":null}"#,
            #"{"a":[],"b":{},"c":[1,{"d":"é😀 / "# + "\u{7f}" + #""}],"e":-0.25,"g":100.5}"#,
            "{}",
        ]
        for event in events {
            let (record, text) = try IngestRecord.parsingKeepingEventText(record(event))
            let kept = try XCTUnwrap(text, event)
            XCTAssertEqual(written(kept, record.event), record.event.serialized(), event)
            XCTAssertEqual(written(kept, record.event), Array(event.utf8), event)
        }
    }

    func testOtherFormsOfTheSameEventKeepNoText() throws {
        let events = [
            #"{"a": 1}"#, #"{"a":1 }"#, #"{"a":[1, 2]}"#, "{\n\"a\":1}",  // whitespace
            #"{"a":"x\/y"}"#, #"{"a":"\u0041"}"#, #"{"a":"q\"q"}"#,  // escapes
            #"{"a":1,"a":2}"#,  // repeated key
            #"{"a":-0}"#, #"{"a":1.50}"#, #"{"a":5.0}"#, #"{"a":1e5}"#, #"{"a":1E-2}"#, #"{"a":0.0001}"#,  // numbers
            #"{"a":1234567890123456.5}"#, #"{"a":12345678901234567890}"#, #"{"a":0.1234567890123456}"#,
        ]
        for event in events {
            let (record, text) = try IngestRecord.parsingKeepingEventText(record(event))
            XCTAssertNil(text, event)
            XCTAssertEqual(record.event, try JSON(parsing: event), event)
        }
    }

    func testWhitespaceOutsideTheEventDoesNotMatter() throws {
        let bytes = Array(#"{ "workspaceId" : "acme", "sourceId":"web", "event": {"type":"track"} }"#.utf8)
        let (record, text) = try IngestRecord.parsingKeepingEventText(bytes)
        XCTAssertEqual(written(try XCTUnwrap(text), record.event), Array(#"{"type":"track"}"#.utf8))
    }

    func testARepeatedEventMemberKeepsNoText() throws {
        let bytes = Array(#"{"workspaceId":"acme","sourceId":"web","event":{"a":1},"event":{"b":2}}"#.utf8)
        let (record, text) = try IngestRecord.parsingKeepingEventText(bytes)
        XCTAssertNil(text)
        XCTAssertEqual(record.event, ["b": 2])
    }

    func testTheTextStandsForItsTreeOnly() throws {
        let (record, text) = try IngestRecord.parsingKeepingEventText(record(#"{"type":"track","n":1}"#))
        let kept = try XCTUnwrap(text)
        var changed = record.event
        changed["n"] = 2
        XCTAssertNil(written(kept, changed))
        // An equal tree built apart is not the text's tree either: it is serialised.
        XCTAssertNil(written(kept, try JSON(parsing: #"{"type":"track","n":1}"#)))
        XCTAssertNotNil(written(kept, record.event))
    }

    func testAnAppendedMemberIsWrittenAfterTheText() throws {
        for event in [#"{"type":"track"}"#, "{}"] {
            let (record, text) = try IngestRecord.parsingKeepingEventText(record(event))
            var updated = record.event
            updated["timestamp"] = "2026-11-29T12:00:00.000Z"
            let appended = try XCTUnwrap(try XCTUnwrap(text).appending(member: "timestamp", of: updated))
            XCTAssertEqual(written(appended, updated), updated.serialized())
            XCTAssertNil(written(appended, record.event))
            XCTAssertNil(try XCTUnwrap(text).appending(member: "other", of: updated))
        }
    }
}

import XCTest

@testable import GatewayService

/// The byte-level scanner and the splicing writer, without HTTP or Kafka.
final class IngestScannerTests: XCTestCase {
    // MARK: helpers

    private func scanEvent(_ text: String) throws(ScanError) -> ScannedEvent {
        let bytes = Array(text.utf8)
        return try bytes.withUnsafeBufferPointer { buffer throws(ScanError) in try JSONByteScanner.scanEvent(buffer) }
    }

    private func scanBatch(_ text: String) throws(ScanError) -> ScannedBatch {
        let bytes = Array(text.utf8)
        return try bytes.withUnsafeBufferPointer { buffer throws(ScanError) in try JSONByteScanner.scanBatch(buffer) }
    }

    private func text(_ span: ValueSpan?, in source: String) -> String? {
        guard let span else { return nil }
        return String(decoding: Array(source.utf8)[span.start..<span.end], as: UTF8.self)
    }

    private func writer(anonymousHeader: String? = nil) -> IngestRecordWriter {
        IngestRecordWriter(
            workspaceId: "acme",
            sourceId: "web",
            receivedAt: "2024-05-01T10:00:00.123Z",
            requestIP: "10.1.2.3",
            headerAnonymousId: anonymousHeader
        )
    }

    /// Splices one body (single or batch) and parses each produced value with Foundation, which
    /// is fine in tests: it is the independent judge that the output is valid JSON.
    private func splice(
        _ body: String,
        type: EventType?,
        anonymousHeader: String? = nil
    ) throws -> [(key: String, record: [String: Any])] {
        let bytes = Array(body.utf8)
        let writer = self.writer(anonymousHeader: anonymousHeader)
        return try bytes.withUnsafeBufferPointer { buffer in
            let events: [ScannedEvent]
            let sentAt: ValueSpan?
            if type == nil {
                let batch = try JSONByteScanner.scanBatch(buffer)
                events = batch.events
                sentAt = batch.sentAt
            } else {
                events = [try JSONByteScanner.scanEvent(buffer)]
                sentAt = nil
            }
            return try events.enumerated().map { index, event in
                let message = try writer.message(
                    for: event, in: buffer, typeOverride: type, batchSentAt: sentAt, index: type == nil ? index : nil)
                let record = try JSONSerialization.jsonObject(with: Data(message.value)) as! [String: Any]
                return (String(decoding: message.key, as: UTF8.self), record)
            }
        }
    }

    // MARK: scanner

    func testFindsTopLevelFieldsAndIgnoresNestedOnes() throws {
        let body = #"""
             {"userId":"u1","context":{"traits":{"anonymousId":"nested","type":"x"}},"type":"track",
              "messageId":"m-1","anonymousId":"a\"1","sentAt":"2024-01-01T00:00:00Z","n":[1,2.5e3,-0.1,true,false,null]}
            """#
        let event = try scanEvent(body)
        XCTAssertEqual(text(event.userId, in: body), #""u1""#)
        XCTAssertEqual(text(event.type, in: body), #""track""#)
        XCTAssertEqual(text(event.messageId, in: body), #""m-1""#)
        XCTAssertEqual(text(event.anonymousId, in: body), #""a\"1""#)
        XCTAssertEqual(event.anonymousId?.kind, .string(hasEscapes: true))
        XCTAssertEqual(text(event.sentAt, in: body), #""2024-01-01T00:00:00Z""#)
        XCTAssertNil(event.receivedAt)
        XCTAssertEqual(Array(body.utf8)[event.start], UInt8(ascii: "{"))
        XCTAssertEqual(Array(body.utf8)[event.end - 1], UInt8(ascii: "}"))
    }

    func testRejectsInvalidJSON() {
        let invalid = [
            "", "   ", "{", "{\"a\":}", "{\"a\":1,}", "{\"a\" 1}", "{'a':1}", "{\"a\":01}", "{\"a\":1.}",
            "{\"a\":-}", "{\"a\":tru}", "{\"a\":\"x\u{01}\"}", "{\"a\":\"\\x\"}", "{\"a\":\"\\u12g4\"}",
            "{\"a\":1} {}", "{\"a\":[1,]}", "{\"a\":\"unterminated}",
        ]
        for body in invalid {
            XCTAssertThrowsError(try scanEvent(body), "accepted \(body.debugDescription)") { error in
                guard case .invalidJSON = error as? ScanError else {
                    return XCTFail("\(body.debugDescription): \(error)")
                }
            }
        }
    }

    func testRejectsInvalidUTF8InStrings() {
        for bytes: [UInt8] in [[0xC0, 0xAF], [0xED, 0xA0, 0x80], [0xF5, 0x80, 0x80, 0x80], [0xE2, 0x82]] {
            let body = Array(#"{"a":""#.utf8) + bytes + Array(#""}"#.utf8)
            XCTAssertThrowsError(try body.withUnsafeBufferPointer { try JSONByteScanner.scanEvent($0) })
        }
        let valid = Array(#"{"a":"é€😀"}"#.utf8)
        XCTAssertNoThrow(try valid.withUnsafeBufferPointer { try JSONByteScanner.scanEvent($0) })
    }

    func testNotAnObjectIsDistinguishedFromInvalidJSON() {
        XCTAssertThrowsError(try scanEvent("[1,2]")) { XCTAssertEqual($0 as? ScanError, .notAnObject) }
        XCTAssertThrowsError(try scanEvent("\"track\"")) { XCTAssertEqual($0 as? ScanError, .notAnObject) }
        XCTAssertThrowsError(try scanBatch(#"{"batch":{}}"#)) { XCTAssertEqual($0 as? ScanError, .batchNotAnArray) }
        XCTAssertThrowsError(try scanBatch(#"{"events":[]}"#)) { XCTAssertEqual($0 as? ScanError, .batchNotAnArray) }
        XCTAssertThrowsError(try scanBatch(#"{"batch":[{"a":1},2]}"#)) {
            XCTAssertEqual($0 as? ScanError, .batchElementNotAnObject(index: 1))
        }
        // Invalid JSON after a bad element is still reported as invalid JSON.
        XCTAssertThrowsError(try scanBatch(#"{"batch":[2,{"a":}]}"#)) {
            guard case .invalidJSON = $0 as? ScanError else { return XCTFail("\($0)") }
        }
    }

    func testDepthIsBounded() {
        let deep = "{\"a\":" + String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000) + "}"
        XCTAssertThrowsError(try scanEvent(deep)) { XCTAssertEqual($0 as? ScanError, .tooDeep) }
        let fine = "{\"a\":" + String(repeating: "[", count: 50) + String(repeating: "]", count: 50) + "}"
        XCTAssertNoThrow(try scanEvent(fine))
    }

    func testBatchFindsEachEventAndBatchSentAt() throws {
        let body = #"{"sentAt":"2024-01-01T00:00:01Z","batch":[{"type":"track","userId":"a"}, {}, {"type":"page"}],"x":{"y":[1]}}"#
        let batch = try scanBatch(body)
        XCTAssertEqual(batch.events.count, 3)
        XCTAssertEqual(text(batch.sentAt, in: body), #""2024-01-01T00:00:01Z""#)
        let source = Array(body.utf8)
        XCTAssertEqual(String(decoding: source[batch.events[1].start..<batch.events[1].end], as: UTF8.self), "{}")
        XCTAssertTrue(batch.events[1].isEmpty)
        XCTAssertEqual(text(batch.events[2].type, in: body), #""page""#)
    }

    // MARK: splicing

    func testSingleEventIsEnrichedAndTypeOverridden() throws {
        let body = #"{"type":"identify","anonymousId":"anon-1","event":"Clicked","properties":{"price":9.5},"receivedAt":"forged","originalTimestamp":"2024-01-01T00:00:00Z"}"#
        let (key, record) = try XCTUnwrap(splice(body, type: .track).first)
        XCTAssertEqual(key, "acme:anon-1")
        XCTAssertEqual(record["workspaceId"] as? String, "acme")
        XCTAssertEqual(record["sourceId"] as? String, "web")
        let event = try XCTUnwrap(record["event"] as? [String: Any])
        XCTAssertEqual(event["type"] as? String, "track")
        XCTAssertEqual(event["receivedAt"] as? String, "2024-05-01T10:00:00.123Z")
        XCTAssertEqual(event["request_ip"] as? String, "10.1.2.3")
        XCTAssertEqual(event["originalTimestamp"] as? String, "2024-01-01T00:00:00Z")
        XCTAssertEqual((event["properties"] as? [String: Any])?["price"] as? Double, 9.5)
        let messageId = try XCTUnwrap(event["messageId"] as? String)
        XCTAssertNotNil(UUID(uuidString: messageId), messageId)
        XCTAssertEqual(Array(messageId.utf8)[14], UInt8(ascii: "4"))
        // No duplicate keys: the forged receivedAt was replaced, not shadowed.
        XCTAssertFalse(String(decoding: Array(try JSONSerialization.data(withJSONObject: record)), as: UTF8.self).contains("forged"))
    }

    func testExistingMessageIdIsKeptAndBlankOneReplaced() throws {
        let kept = try splice(#"{"userId":"u","messageId":"given"}"#, type: .identify)
        XCTAssertEqual((kept[0].record["event"] as? [String: Any])?["messageId"] as? String, "given")
        XCTAssertEqual(kept[0].key, "acme:u")
        for blank in [#""""#, "null"] {
            let replaced = try splice(#"{"userId":"u","messageId":"# + blank + "}", type: .identify)
            let id = (replaced[0].record["event"] as? [String: Any])?["messageId"] as? String
            XCTAssertEqual(id?.count, 36, blank)
        }
    }

    func testMessageIdsAreUniqueAcrossABatch() throws {
        let events = (0..<50).map { #"{"type":"track","userId":"u\#($0)","event":"e"}"# }
        let records = try splice(#"{"batch":["# + events.joined(separator: ",") + "]}", type: nil)
        let ids = Set(records.compactMap { ($0.record["event"] as? [String: Any])?["messageId"] as? String })
        XCTAssertEqual(ids.count, 50)
        XCTAssertEqual(records.map(\.key), (0..<50).map { "acme:u\($0)" })
    }

    func testAnonymousIdHeaderFillsOnlyMissingIds() throws {
        let filled = try splice(#"{"userId":"u","anonymousId":""}"#, type: .track, anonymousHeader: "hdr-1")
        XCTAssertEqual(filled[0].key, "acme:hdr-1")
        XCTAssertEqual((filled[0].record["event"] as? [String: Any])?["anonymousId"] as? String, "hdr-1")
        let own = try splice(#"{"anonymousId":"own"}"#, type: .track, anonymousHeader: "hdr-1")
        XCTAssertEqual(own[0].key, "acme:own")
        XCTAssertEqual((own[0].record["event"] as? [String: Any])?["anonymousId"] as? String, "own")
        let empty = try splice("{}", type: .page, anonymousHeader: "hdr-2")
        XCTAssertEqual((empty[0].record["event"] as? [String: Any])?["anonymousId"] as? String, "hdr-2")
        XCTAssertEqual((empty[0].record["event"] as? [String: Any])?["type"] as? String, "page")
    }

    func testKeyUsesUserIdWhenNoAnonymousIdAndDecodesEscapes() throws {
        XCTAssertEqual(try splice(#"{"userId":42}"#, type: .identify)[0].key, "acme:42")
        XCTAssertEqual(try splice(#"{"userId":"caf\u00e9 \ud83d\ude00"}"#, type: .identify)[0].key, "acme:café 😀")
        XCTAssertEqual(try splice(#"{"anonymousId":null,"userId":"u"}"#, type: .identify)[0].key, "acme:u")
    }

    func testMissingIdentityAndBadTypesAreRejected() {
        XCTAssertThrowsError(try splice(#"{"event":"x"}"#, type: .track)) {
            XCTAssertEqual($0 as? EventRejection, .missingIdentity(index: nil))
        }
        XCTAssertThrowsError(try splice(#"{"batch":[{"type":"track","userId":"a"},{"type":"purchase","userId":"b"}]}"#, type: nil)) {
            XCTAssertEqual($0 as? EventRejection, .unknownType(index: 1))
        }
        XCTAssertThrowsError(try splice(#"{"batch":[{"userId":"b"}]}"#, type: nil)) {
            XCTAssertEqual($0 as? EventRejection, .missingType(index: 0))
        }
    }

    func testBatchSentAtIsCopiedIntoEventsWithoutOne() throws {
        let body = #"{"batch":[{"type":"track","userId":"a"},{"type":"track","userId":"b","sentAt":"own"}],"sentAt":"2024-02-02T00:00:00.000Z"}"#
        let records = try splice(body, type: nil)
        XCTAssertEqual((records[0].record["event"] as? [String: Any])?["sentAt"] as? String, "2024-02-02T00:00:00.000Z")
        XCTAssertEqual((records[1].record["event"] as? [String: Any])?["sentAt"] as? String, "own")
    }

    func testEventBytesAreKeptVerbatim() throws {
        // Number formatting, key order and escapes survive byte for byte.
        let body = #"{"userId":"u","properties":{"z":1.50,"a":"\u00e9\/"},"messageId":"m"}"#
        let bytes = Array(body.utf8)
        let writer = self.writer()
        let message = try bytes.withUnsafeBufferPointer { buffer in
            try writer.message(for: try JSONByteScanner.scanEvent(buffer), in: buffer, typeOverride: .track, batchSentAt: nil, index: nil)
        }
        let value = String(decoding: message.value, as: UTF8.self)
        XCTAssertTrue(value.hasPrefix(#"{"workspaceId":"acme","sourceId":"web","event":{"receivedAt":"#), value)
        XCTAssertTrue(value.hasSuffix(#""userId":"u","properties":{"z":1.50,"a":"\u00e9\/"},"messageId":"m"}}"#), value)
    }

    func testBodyWriteKeyIsRemovedWhereverItStands() throws {
        for body in [
            #"{"writeKey":"wk","userId":"u","event":"a"}"#,
            #"{"userId":"u", "writeKey" : "wk" ,"event":"a"}"#,
            #"{"userId":"u","event":"a","writeKey":"wk"}"#,
            #"{ "userId":"u","event":"a" , "writeKey":"wk" }"#,
        ] {
            let records = try splice(body, type: .track)
            let event = try XCTUnwrap(records.first?.record["event"] as? [String: Any], body)
            XCTAssertNil(event["writeKey"], body)
            XCTAssertEqual(event["userId"] as? String, "u", body)
            XCTAssertEqual(event["event"] as? String, "a", body)
        }
        let only = try splice(#"{"writeKey":"wk"}"#, type: .page, anonymousHeader: "h")
        let event = try XCTUnwrap(only.first?.record["event"] as? [String: Any])
        XCTAssertNil(event["writeKey"])
        XCTAssertEqual(event["anonymousId"] as? String, "h")
    }
}

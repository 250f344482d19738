import EventModel

/// The six event types of the RudderStack/Segment spec.
enum EventType: String, Sendable, CaseIterable {
    case track, page, screen, identify, group, alias

    /// Recognises a type from its JSON string span (quotes included, no escapes).
    init?(span: ValueSpan, in bytes: UnsafeBufferPointer<UInt8>) {
        guard case .string(hasEscapes: false) = span.kind else { return nil }
        let length = span.end - span.start - 2
        for candidate in EventType.allCases where candidate.rawValue.utf8.count == length {
            var matches = true
            var offset = span.start + 1
            for byte in candidate.rawValue.utf8 {
                if bytes[offset] != byte {
                    matches = false
                    break
                }
                offset += 1
            }
            if matches {
                self = candidate
                return
            }
        }
        return nil
    }
}

/// Why an event of a well-formed body was rejected (all map to 400).
enum EventRejection: Error, Equatable, CustomStringConvertible {
    case missingIdentity(index: Int?)
    case unknownType(index: Int)
    case missingType(index: Int)
    case eventTooLarge(index: Int?, limit: Int)

    var description: String {
        switch self {
        case .missingIdentity(let index):
            return "\(Self.label(index)) has neither userId nor anonymousId"
        case .unknownType(let index):
            return "\(Self.label(index)) has an unknown type (expected track, page, screen, identify, group or alias)"
        case .missingType(let index):
            return "\(Self.label(index)) has no type"
        case .eventTooLarge(let index, let limit):
            return "\(Self.label(index)) is larger than \(limit) bytes"
        }
    }

    private static func label(_ index: Int?) -> String {
        index.map { "batch[\($0)]" } ?? "the event"
    }
}

/// One Kafka message ready to produce: key `<workspaceId>:<userKey>` and the IngestRecord value.
struct IngestMessage: Sendable {
    var key: [UInt8]
    var value: [UInt8]
}

/// Builds `IngestRecord` values by splicing bytes (docs/architecture.md): the envelope prefix,
/// the event's own bytes with the enrichment fields spliced in, and `}`.
///
/// One writer serves one request: the per-request fields (receivedAt, request_ip, envelope
/// prefix) are encoded once.
struct IngestRecordWriter {
    private let prefix: [UInt8]
    private let keyPrefix: [UInt8]
    private let receivedAtValue: [UInt8]
    private let requestIPValue: [UInt8]
    private let headerAnonymousId: [UInt8]?
    private let headerAnonymousKey: [UInt8]

    /// - Parameters:
    ///   - receivedAt: RFC 3339 timestamp with milliseconds.
    ///   - headerAnonymousId: the `AnonymousId` request header, used for events without one.
    init(
        workspaceId: String,
        sourceId: String,
        receivedAt: String,
        requestIP: String,
        headerAnonymousId: String?
    ) {
        var prefix: [UInt8] = []
        prefix.reserveCapacity(48 + workspaceId.utf8.count + sourceId.utf8.count)
        IngestRecord.serializePrefix(workspaceId: workspaceId, sourceId: sourceId, into: &prefix)
        self.prefix = prefix
        self.keyPrefix = Array(workspaceId.utf8) + [UInt8(ascii: ":")]
        var received: [UInt8] = []
        JSON.serialize(string: receivedAt, into: &received)
        self.receivedAtValue = received
        var ip: [UInt8] = []
        JSON.serialize(string: requestIP, into: &ip)
        self.requestIPValue = ip
        if let headerAnonymousId, !headerAnonymousId.isEmpty {
            var value: [UInt8] = []
            JSON.serialize(string: headerAnonymousId, into: &value)
            self.headerAnonymousId = value
            self.headerAnonymousKey = Array(headerAnonymousId.utf8)
        } else {
            self.headerAnonymousId = nil
            self.headerAnonymousKey = []
        }
    }

    /// Checks one scanned event and builds its message.
    ///
    /// - Parameters:
    ///   - typeOverride: the endpoint's type; nil for batch endpoints, where the event's own
    ///     `type` must be one of the six.
    ///   - batchSentAt: the batch-level `sentAt`, copied into events that have none.
    ///   - index: the event's position in a batch (nil for single-event endpoints), for errors.
    func message(
        for event: ScannedEvent,
        in body: UnsafeBufferPointer<UInt8>,
        typeOverride: EventType?,
        batchSentAt: ValueSpan?,
        index: Int?
    ) throws(EventRejection) -> IngestMessage {
        // The identity decides the key; the header fills a missing anonymousId.
        var key = keyPrefix
        var anonymousFromHeader = false
        if let anonymousId = event.anonymousId, case .string = anonymousId.kind, !anonymousId.isBlank {
            JSONText.appendKeyPart(anonymousId, from: body, to: &key)
        } else if headerAnonymousId != nil {
            anonymousFromHeader = true
            key.append(contentsOf: headerAnonymousKey)
        } else if let userId = event.userId, !userId.isBlank {
            JSONText.appendKeyPart(userId, from: body, to: &key)
        } else {
            throw .missingIdentity(index: index)
        }

        if typeOverride == nil {
            guard let type = event.type else { throw .missingType(index: index ?? 0) }
            guard EventType(span: type, in: body) != nil else { throw .unknownType(index: index ?? 0) }
        }

        // Edits inside the event: replacements of existing values, and one insertion after `{`.
        var edits = EditList()
        var inserted: [UInt8] = []
        inserted.reserveCapacity(160)

        func set(_ name: StaticString, existing: ValueSpan?, to value: [UInt8], edits: inout EditList, inserted: inout [UInt8]) {
            if let existing {
                edits.add(Edit(start: existing.start, end: existing.end, replacement: value))
            } else {
                JSONText.appendField(name, value: value, to: &inserted)
            }
        }

        if event.messageId == nil || event.messageId!.isBlank {
            var id: [UInt8] = [UInt8(ascii: "\"")]
            id.reserveCapacity(38)
            MessageID.appendRandom(to: &id)
            id.append(UInt8(ascii: "\""))
            set("messageId", existing: event.messageId, to: id, edits: &edits, inserted: &inserted)
        }
        set("receivedAt", existing: event.receivedAt, to: receivedAtValue, edits: &edits, inserted: &inserted)
        set("request_ip", existing: event.requestIP, to: requestIPValue, edits: &edits, inserted: &inserted)
        if let typeOverride {
            set("type", existing: event.type, to: typeOverride.quotedBytes, edits: &edits, inserted: &inserted)
        }
        if anonymousFromHeader, let headerAnonymousId {
            set("anonymousId", existing: event.anonymousId, to: headerAnonymousId, edits: &edits, inserted: &inserted)
        }
        if event.sentAt == nil, let batchSentAt {
            JSONText.appendField("sentAt", value: Array(body[batchSentAt.start..<batchSentAt.end]), to: &inserted)
        }

        // A write key in the body (analytics.js) is a credential: it does not travel on.
        var membersLeft = event.memberCount
        if let memberStart = event.writeKeyMemberStart, let writeKey = event.writeKey {
            edits.add(Self.removal(from: memberStart, to: writeKey.end, in: body))
            membersLeft -= 1
        }

        var value: [UInt8] = []
        value.reserveCapacity(prefix.count + event.byteCount + inserted.count + edits.growth + 2)
        value.append(contentsOf: prefix)
        value.append(UInt8(ascii: "{"))
        if !inserted.isEmpty {
            // `inserted` ends with a comma; drop it when the event has no members of its own.
            value.append(contentsOf: membersLeft == 0 ? inserted[0..<(inserted.count - 1)] : inserted[...])
        }
        var cursor = event.start + 1
        edits.sort()
        for edit in edits.items {
            value.append(contentsOf: UnsafeBufferPointer(rebasing: body[cursor..<edit.start]))
            value.append(contentsOf: edit.replacement)
            cursor = edit.end
        }
        value.append(contentsOf: UnsafeBufferPointer(rebasing: body[cursor..<event.end]))
        value.append(UInt8(ascii: "}"))
        return IngestMessage(key: key, value: value)
    }
}

extension IngestRecordWriter {
    /// The edit removing the member `start..<end` with one adjacent comma (the following one,
    /// else the preceding one), so the object stays valid JSON.
    fileprivate static func removal(from start: Int, to end: Int, in body: UnsafeBufferPointer<UInt8>) -> Edit {
        func isSpace(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 }
        var after = end
        while after < body.count, isSpace(body[after]) { after += 1 }
        if after < body.count, body[after] == UInt8(ascii: ",") {
            return Edit(start: start, end: after + 1, replacement: [])
        }
        var before = start - 1
        while before > 0, isSpace(body[before]) { before -= 1 }
        if body[before] == UInt8(ascii: ",") {
            return Edit(start: before, end: end, replacement: [])
        }
        return Edit(start: start, end: end, replacement: [])
    }
}

extension EventType {
    var quotedBytes: [UInt8] { Array("\"\(rawValue)\"".utf8) }
}

/// A replacement of `start..<end` of the body.
private struct Edit {
    var start: Int
    var end: Int
    var replacement: [UInt8]
}

/// At most four replacements per event; kept in an array sorted by position once.
private struct EditList {
    var items: [Edit] = []
    var growth = 0

    mutating func add(_ edit: Edit) {
        items.append(edit)
        growth += max(0, edit.replacement.count - (edit.end - edit.start))
    }

    mutating func sort() {
        if items.count > 1 { items.sort { $0.start < $1.start } }
    }
}

/// Small helpers for writing JSON text as bytes.
enum JSONText {
    /// Appends `"name":value,`.
    static func appendField(_ name: StaticString, value: [UInt8], to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        out.append(contentsOf: UnsafeBufferPointer(start: name.utf8Start, count: name.utf8CodeUnitCount))
        out.append(contentsOf: "\":".utf8)
        out.append(contentsOf: value)
        out.append(UInt8(ascii: ","))
    }

    /// Appends an id's value to a Kafka key: a string's content (unescaped), or a number's text.
    static func appendKeyPart(_ span: ValueSpan, from body: UnsafeBufferPointer<UInt8>, to key: inout [UInt8]) {
        switch span.kind {
        case .string(hasEscapes: false):
            key.append(contentsOf: UnsafeBufferPointer(rebasing: body[(span.start + 1)..<(span.end - 1)]))
        case .string(hasEscapes: true):
            key.append(contentsOf: unescaped(Array(body[span.start..<span.end])[...]))
        case .number, .null, .other:
            key.append(contentsOf: UnsafeBufferPointer(rebasing: body[span.start..<span.end]))
        }
    }

    /// The UTF-8 content of a quoted, valid JSON string (quotes included in `quoted`).
    static func unescaped(_ quoted: ArraySlice<UInt8>) -> [UInt8] {
        var out: [UInt8] = []
        var index = quoted.startIndex + 1
        let end = quoted.endIndex - 1
        var pendingHigh: UInt32?
        while index < end {
            let byte = quoted[index]
            guard byte == UInt8(ascii: "\\") else {
                out.append(byte)
                index += 1
                continue
            }
            let code = quoted[index + 1]
            index += 2
            switch code {
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"):
                var scalar: UInt32 = 0
                for offset in 0..<4 {
                    let digit = quoted[index + offset]
                    let nibble = digit <= UInt8(ascii: "9") ? digit - UInt8(ascii: "0") : (digit | 0x20) - UInt8(ascii: "a") + 10
                    scalar = scalar << 4 | UInt32(nibble)
                }
                index += 4
                if (0xD800..<0xDC00).contains(scalar) {
                    pendingHigh = scalar
                    continue
                }
                if (0xDC00..<0xE000).contains(scalar), let high = pendingHigh {
                    scalar = 0x10000 + ((high - 0xD800) << 10) + (scalar - 0xDC00)
                }
                pendingHigh = nil
                let character = Unicode.Scalar(scalar) ?? "\u{FFFD}"
                out.append(contentsOf: Array(String(Character(character)).utf8))
            default: out.append(code)  // \" \\ \/
            }
        }
        return out
    }
}

/// Byte range of one JSON value inside a request body (`start..<end`, quotes included for strings).
struct ValueSpan: Sendable, Equatable {
    /// What kind of JSON value the span holds.
    enum Kind: Sendable, Equatable {
        case string(hasEscapes: Bool)
        case number
        case null
        case other
    }

    var start: Int
    var end: Int
    var kind: Kind

    /// True for `null` and `""`: the gateway treats both as "not set".
    var isBlank: Bool {
        switch kind {
        case .null: return true
        case .string: return end - start == 2
        case .number, .other: return false
        }
    }
}

/// One event found by the scanner: its byte range and the spans of the top-level fields the
/// gateway reads or rewrites. Nested fields (`context.traits.userId`) are never recorded.
struct ScannedEvent: Sendable, Equatable {
    /// Index of the event's `{`.
    var start: Int
    /// Index just after the event's `}`.
    var end: Int
    /// True when the object has no members (`{}`), so an insertion needs no trailing comma.
    var isEmpty = true
    var type: ValueSpan?
    var messageId: ValueSpan?
    var anonymousId: ValueSpan?
    var userId: ValueSpan?
    var sentAt: ValueSpan?
    var receivedAt: ValueSpan?
    var requestIP: ValueSpan?
    /// Segment's analytics.js sends its write key in the body instead of a header.
    var writeKey: ValueSpan?
    /// Where the whole `"writeKey": value` member starts (its key's opening quote); the writer
    /// removes the member so the credential does not travel with the event.
    var writeKeyMemberStart: Int?
    /// How many members the object has.
    var memberCount = 0

    init(start: Int, end: Int = 0) {
        self.start = start
        self.end = end
    }

    var byteCount: Int { end - start }
}

/// A request body that is `{"batch":[…], …}`.
struct ScannedBatch: Sendable, Equatable {
    var events: [ScannedEvent]
    /// The batch-level `sentAt` (SDKs set it on the batch, not on each event).
    var sentAt: ValueSpan?
    /// The batch-level `writeKey` (Segment's analytics.js puts it in the body).
    var writeKey: ValueSpan?
}

/// Why a body was rejected. The descriptions are safe to show: they never quote the body.
enum ScanError: Error, Equatable, CustomStringConvertible {
    case invalidJSON(offset: Int)
    case tooDeep
    case notAnObject
    case batchNotAnArray
    case batchElementNotAnObject(index: Int)

    var description: String {
        switch self {
        case .invalidJSON(let offset): return "invalid JSON at byte \(offset)"
        case .tooDeep: return "invalid JSON: nested deeper than \(JSONByteScanner.maxDepth) levels"
        case .notAnObject: return "the body is not an event object"
        case .batchNotAnArray: return "the body has no \"batch\" array"
        case .batchElementNotAnObject(let index): return "batch[\(index)] is not an event object"
        }
    }
}

/// One validating pass over a JSON body, byte by byte, without building a value tree.
///
/// It checks the full JSON grammar (including UTF-8 and control characters inside strings), and
/// records for each event object only where the event starts and ends and where the handful of
/// top-level fields the gateway needs are. The gateway then builds each `IngestRecord` by
/// splicing bytes (see `IngestRecordWriter`).
struct JSONByteScanner {
    static let maxDepth = 64

    private let base: UnsafePointer<UInt8>
    private let count: Int
    private var index = 0

    private init(_ bytes: UnsafeBufferPointer<UInt8>) {
        // An empty buffer may have a nil base address; point at a static byte instead.
        self.base = bytes.baseAddress ?? JSONByteScanner.emptyBase
        self.count = bytes.count
    }

    nonisolated(unsafe) private static let emptyBase: UnsafePointer<UInt8> = {
        let pointer = UnsafeMutablePointer<UInt8>.allocate(capacity: 1)
        pointer.initialize(to: 0)
        return UnsafePointer(pointer)
    }()

    /// Scans a body that must be exactly one event object.
    static func scanEvent(_ bytes: UnsafeBufferPointer<UInt8>) throws(ScanError) -> ScannedEvent {
        var scanner = JSONByteScanner(bytes)
        scanner.skipWhitespace()
        guard scanner.index < scanner.count else { throw .invalidJSON(offset: scanner.index) }
        guard scanner.base[scanner.index] == UInt8(ascii: "{") else {
            try scanner.value(depth: 1)
            try scanner.expectEnd()
            throw .notAnObject
        }
        let event = try scanner.eventObject()
        try scanner.expectEnd()
        return event
    }

    /// Scans a body of the form `{"batch":[event, …], "sentAt":…, …}`.
    static func scanBatch(_ bytes: UnsafeBufferPointer<UInt8>) throws(ScanError) -> ScannedBatch {
        var scanner = JSONByteScanner(bytes)
        scanner.skipWhitespace()
        guard scanner.index < scanner.count else { throw .invalidJSON(offset: scanner.index) }
        guard scanner.base[scanner.index] == UInt8(ascii: "{") else {
            try scanner.value(depth: 1)
            try scanner.expectEnd()
            throw .batchNotAnArray
        }
        var batch = ScannedBatch(events: [], sentAt: nil, writeKey: nil)
        var sawBatch = false
        var batchIsArray = false
        scanner.index += 1
        scanner.skipWhitespace()
        if scanner.peek() == UInt8(ascii: "}") {
            scanner.index += 1
        } else {
            while true {
                let key = try scanner.key()
                scanner.skipWhitespace()
                if scanner.keyEquals(key, "batch") {
                    sawBatch = true
                    if scanner.peek() == UInt8(ascii: "[") {
                        batchIsArray = true
                        batch.events = []
                        try scanner.eventArray(into: &batch.events)
                    } else {
                        try scanner.value(depth: 2)
                        batchIsArray = false
                    }
                } else if scanner.keyEquals(key, "sentAt") {
                    batch.sentAt = try scanner.recordedValue(depth: 2)
                } else if scanner.keyEquals(key, "writeKey") {
                    batch.writeKey = try scanner.recordedValue(depth: 2)
                } else {
                    try scanner.value(depth: 2)
                }
                scanner.skipWhitespace()
                guard let byte = scanner.peek() else { throw .invalidJSON(offset: scanner.index) }
                scanner.index += 1
                if byte == UInt8(ascii: ",") {
                    scanner.skipWhitespace()
                    continue
                }
                if byte == UInt8(ascii: "}") { break }
                throw .invalidJSON(offset: scanner.index - 1)
            }
        }
        try scanner.expectEnd()
        guard sawBatch, batchIsArray else { throw .batchNotAnArray }
        return batch
    }

    // MARK: - Events

    private mutating func eventArray(into events: inout [ScannedEvent]) throws(ScanError) {
        index += 1  // [
        skipWhitespace()
        if peek() == UInt8(ascii: "]") {
            index += 1
            return
        }
        var position = 0
        // Validate the whole array before reporting a non-object element, so that invalid JSON
        // is reported as such even when it comes after the bad element.
        var firstNonObject: Int?
        while true {
            skipWhitespace()
            if peek() == UInt8(ascii: "{") {
                events.append(try eventObject())
            } else {
                try value(depth: 3)
                if firstNonObject == nil { firstNonObject = position }
            }
            position += 1
            skipWhitespace()
            guard let byte = peek() else { throw .invalidJSON(offset: index) }
            index += 1
            if byte == UInt8(ascii: ",") { continue }
            if byte == UInt8(ascii: "]") { break }
            throw .invalidJSON(offset: index - 1)
        }
        if let firstNonObject { throw .batchElementNotAnObject(index: firstNonObject) }
    }

    /// Scans the object at `index` (which is `{`), recording the top-level fields of interest.
    private mutating func eventObject() throws(ScanError) -> ScannedEvent {
        var event = ScannedEvent(start: index)
        index += 1
        skipWhitespace()
        if peek() == UInt8(ascii: "}") {
            index += 1
            event.end = index
            return event
        }
        event.isEmpty = false
        while true {
            let key = try self.key()
            skipWhitespace()
            switch key.end - key.start {
            case 4 where keyEquals(key, "type"):
                event.type = try recordedValue(depth: 2)
            case 6 where keyEquals(key, "userId"):
                event.userId = try recordedValue(depth: 2)
            case 6 where keyEquals(key, "sentAt"):
                event.sentAt = try recordedValue(depth: 2)
            case 8 where keyEquals(key, "writeKey"):
                event.writeKeyMemberStart = key.start - 1
                event.writeKey = try recordedValue(depth: 2)
            case 9 where keyEquals(key, "messageId"):
                event.messageId = try recordedValue(depth: 2)
            case 10 where keyEquals(key, "receivedAt"):
                event.receivedAt = try recordedValue(depth: 2)
            case 10 where keyEquals(key, "request_ip"):
                event.requestIP = try recordedValue(depth: 2)
            case 11 where keyEquals(key, "anonymousId"):
                event.anonymousId = try recordedValue(depth: 2)
            default:
                try value(depth: 2)
            }
            event.memberCount += 1
            skipWhitespace()
            guard let byte = peek() else { throw .invalidJSON(offset: index) }
            index += 1
            if byte == UInt8(ascii: ",") {
                skipWhitespace()
                continue
            }
            if byte == UInt8(ascii: "}") { break }
            throw .invalidJSON(offset: index - 1)
        }
        event.end = index
        return event
    }

    /// Reads `"key"` and the following `:`; returns the span of the key's content (no quotes).
    /// A key written with escapes never matches a field name, which is harmless.
    private mutating func key() throws(ScanError) -> (start: Int, end: Int, escaped: Bool) {
        guard peek() == UInt8(ascii: "\"") else { throw .invalidJSON(offset: index) }
        let start = index + 1
        let escaped = try string()
        let end = index - 1
        skipWhitespace()
        guard peek() == UInt8(ascii: ":") else { throw .invalidJSON(offset: index) }
        index += 1
        return (start, end, escaped)
    }

    private func keyEquals(_ key: (start: Int, end: Int, escaped: Bool), _ name: StaticString) -> Bool {
        guard !key.escaped, key.end - key.start == name.utf8CodeUnitCount else { return false }
        let other = name.utf8Start
        for offset in 0..<name.utf8CodeUnitCount where base[key.start + offset] != other[offset] {
            return false
        }
        return true
    }

    private mutating func recordedValue(depth: Int) throws(ScanError) -> ValueSpan {
        let start = index
        guard let byte = peek() else { throw .invalidJSON(offset: index) }
        let kind: ValueSpan.Kind
        switch byte {
        case UInt8(ascii: "\""):
            kind = .string(hasEscapes: try string())
        case UInt8(ascii: "n"):
            try literal("null")
            kind = .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            try number()
            kind = .number
        default:
            try value(depth: depth)
            kind = .other
        }
        return ValueSpan(start: start, end: index, kind: kind)
    }

    // MARK: - JSON grammar

    private func peek() -> UInt8? {
        index < count ? base[index] : nil
    }

    private mutating func skipWhitespace() {
        while index < count {
            switch base[index] {
            case 0x20, 0x0A, 0x0D, 0x09: index += 1
            default: return
            }
        }
    }

    private mutating func expectEnd() throws(ScanError) {
        skipWhitespace()
        if index != count { throw .invalidJSON(offset: index) }
    }

    private mutating func value(depth: Int) throws(ScanError) {
        guard depth <= Self.maxDepth else { throw .tooDeep }
        guard let byte = peek() else { throw .invalidJSON(offset: index) }
        switch byte {
        case UInt8(ascii: "\""):
            _ = try string()
        case UInt8(ascii: "{"):
            index += 1
            skipWhitespace()
            if peek() == UInt8(ascii: "}") {
                index += 1
                return
            }
            while true {
                _ = try key()
                skipWhitespace()
                try value(depth: depth + 1)
                skipWhitespace()
                guard let next = peek() else { throw .invalidJSON(offset: index) }
                index += 1
                if next == UInt8(ascii: ",") {
                    skipWhitespace()
                    continue
                }
                if next == UInt8(ascii: "}") { return }
                throw .invalidJSON(offset: index - 1)
            }
        case UInt8(ascii: "["):
            index += 1
            skipWhitespace()
            if peek() == UInt8(ascii: "]") {
                index += 1
                return
            }
            while true {
                skipWhitespace()
                try value(depth: depth + 1)
                skipWhitespace()
                guard let next = peek() else { throw .invalidJSON(offset: index) }
                index += 1
                if next == UInt8(ascii: ",") { continue }
                if next == UInt8(ascii: "]") { return }
                throw .invalidJSON(offset: index - 1)
            }
        case UInt8(ascii: "t"): try literal("true")
        case UInt8(ascii: "f"): try literal("false")
        case UInt8(ascii: "n"): try literal("null")
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): try number()
        default: throw .invalidJSON(offset: index)
        }
    }

    private mutating func literal(_ word: StaticString) throws(ScanError) {
        let length = word.utf8CodeUnitCount
        guard count - index >= length else { throw .invalidJSON(offset: index) }
        let bytes = word.utf8Start
        for offset in 0..<length where base[index + offset] != bytes[offset] {
            throw .invalidJSON(offset: index + offset)
        }
        index += length
    }

    private mutating func digits() -> Int {
        let start = index
        while index < count, base[index] &- UInt8(ascii: "0") < 10 { index += 1 }
        return index - start
    }

    private mutating func number() throws(ScanError) {
        if peek() == UInt8(ascii: "-") { index += 1 }
        guard let first = peek(), first &- UInt8(ascii: "0") < 10 else { throw .invalidJSON(offset: index) }
        if first == UInt8(ascii: "0") {
            index += 1
        } else {
            _ = digits()
        }
        if peek() == UInt8(ascii: ".") {
            index += 1
            guard digits() > 0 else { throw .invalidJSON(offset: index) }
        }
        if let exponent = peek(), exponent | 0x20 == UInt8(ascii: "e") {
            index += 1
            if let sign = peek(), sign == UInt8(ascii: "+") || sign == UInt8(ascii: "-") { index += 1 }
            guard digits() > 0 else { throw .invalidJSON(offset: index) }
        }
    }

    /// Validates the string at `index` (an opening quote); leaves `index` after the closing quote.
    /// Returns whether the string contains escape sequences.
    private mutating func string() throws(ScanError) -> Bool {
        index += 1
        var escaped = false
        while index < count {
            let byte = base[index]
            if byte == UInt8(ascii: "\"") {
                index += 1
                return escaped
            }
            if byte == UInt8(ascii: "\\") {
                escaped = true
                try escape()
            } else if byte < 0x20 {
                throw .invalidJSON(offset: index)
            } else if byte < 0x80 {
                index += 1
            } else {
                try utf8Sequence()
            }
        }
        throw .invalidJSON(offset: index)
    }

    private mutating func escape() throws(ScanError) {
        guard count - index >= 2 else { throw .invalidJSON(offset: index) }
        switch base[index + 1] {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"), UInt8(ascii: "f"),
            UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
            index += 2
        case UInt8(ascii: "u"):
            guard count - index >= 6 else { throw .invalidJSON(offset: index) }
            for offset in 2..<6 where !Self.isHexDigit(base[index + offset]) {
                throw .invalidJSON(offset: index + offset)
            }
            index += 6
        default:
            throw .invalidJSON(offset: index)
        }
    }

    static func isHexDigit(_ byte: UInt8) -> Bool {
        byte &- UInt8(ascii: "0") < 10 || (byte | 0x20) &- UInt8(ascii: "a") < 6
    }

    /// Validates one multi-byte UTF-8 sequence (no overlongs, no surrogates, at most U+10FFFF).
    private mutating func utf8Sequence() throws(ScanError) {
        let lead = base[index]
        let length: Int
        var lower: UInt8 = 0x80
        var upper: UInt8 = 0xBF
        switch lead {
        case 0xC2...0xDF: length = 2
        case 0xE0:
            length = 3
            lower = 0xA0
        case 0xE1...0xEC, 0xEE...0xEF: length = 3
        case 0xED:
            length = 3
            upper = 0x9F
        case 0xF0:
            length = 4
            lower = 0x90
        case 0xF1...0xF3: length = 4
        case 0xF4:
            length = 4
            upper = 0x8F
        default: throw .invalidJSON(offset: index)
        }
        guard count - index >= length else { throw .invalidJSON(offset: index) }
        let second = base[index + 1]
        guard second >= lower, second <= upper else { throw .invalidJSON(offset: index + 1) }
        for offset in 2..<length where base[index + offset] & 0xC0 != 0x80 {
            throw .invalidJSON(offset: index + offset)
        }
        index += length
    }
}

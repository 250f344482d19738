import EventModel

/// The column types Keel creates in a warehouse.
public enum ColumnType: String, Sendable, Hashable, CaseIterable {
    case bigint
    case double
    case boolean
    case timestamp
    /// Text, and nested arrays stored as JSON text.
    case text

    /// Whether a value of `other` can be stored in a column of this type without loss.
    public func accepts(_ value: WarehouseValue) -> Bool {
        switch (self, value) {
        case (.text, _): return true
        case (.bigint, .int): return true
        case (.double, .int), (.double, .double): return true
        case (.boolean, .bool): return true
        case (.timestamp, .timestamp): return true
        case (.timestamp, .text(let text)): return Timestamp(parsing: text) != nil
        case (.bigint, .double(let value)): return value.rounded() == value && abs(value) < 9.2e18
        default: return false
        }
    }
}

/// A scalar value bound for a warehouse column.
public enum WarehouseValue: Sendable, Equatable {
    case int(Int64)
    case double(Double)
    case bool(Bool)
    /// Milliseconds since the epoch.
    case timestamp(Int64)
    case text(String)

    /// The type a new column gets when this is the first value seen for it.
    public var inferredType: ColumnType {
        switch self {
        case .int: .bigint
        case .double: .double
        case .bool: .boolean
        case .timestamp: .timestamp
        case .text: .text
        }
    }

    /// The value as text for a column of `type` (COPY/CSV input, SQL literals), or nil when it
    /// does not fit. Timestamps are written in RFC 3339 UTC.
    public func text(for type: ColumnType) -> String? {
        guard type.accepts(self) else { return nil }
        switch (type, self) {
        case (.timestamp, .text(let text)):
            return Timestamp(parsing: text).map(\.rfc3339)
        case (.bigint, .double(let value)):
            return String(Int64(value))
        default:
            return description
        }
    }

    /// The value as text, whatever the column: what `keel_discards` keeps.
    public var description: String {
        switch self {
        case .int(let value): String(value)
        case .double(let value): value.isFinite ? String(value) : "null"
        case .bool(let value): value ? "true" : "false"
        case .timestamp(let milliseconds): Timestamp(millisecondsSinceEpoch: milliseconds).rfc3339
        case .text(let text): text
        }
    }

    /// Converts a JSON leaf. Strings that are RFC 3339 timestamps become timestamps; arrays and
    /// objects become JSON text; null is no value.
    public init?(_ json: JSON) {
        switch json {
        case .null: return nil
        case .bool(let value): self = .bool(value)
        case .int(let value): self = .int(value)
        case .double(let value): self = .double(value)
        case .string(let text):
            if Self.looksLikeTimestamp(text), let timestamp = Timestamp(parsing: text) {
                self = .timestamp(timestamp.millisecondsSinceEpoch)
            } else {
                self = .text(text)
            }
        case .array, .object: self = .text(json.jsonString)
        }
    }

    /// Cheap check before parsing: `yyyy-mm-ddT…`.
    static func looksLikeTimestamp(_ text: String) -> Bool {
        let bytes = text.utf8
        guard bytes.count >= 19, bytes.count <= 40 else { return false }
        var index = bytes.startIndex
        for position in 0..<11 {
            let byte = bytes[index]
            switch position {
            case 4, 7: if byte != UInt8(ascii: "-") { return false }
            case 10: if byte != UInt8(ascii: "T") && byte != UInt8(ascii: "t") && byte != UInt8(ascii: " ") { return false }
            default: if !(UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) { return false }
            }
            index = bytes.index(after: index)
        }
        return true
    }
}

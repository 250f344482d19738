extension JSON {
    /// Compact UTF-8 JSON text: no whitespace, keys in order, `/` not escaped, integers exact,
    /// doubles in their shortest round-trip form, non-finite doubles as `null`.
    public func serialized() -> [UInt8] {
        var writer = ByteWriter(capacity: estimatedSize)
        write(to: &writer)
        return writer.makeArray()
    }

    /// Appends the compact JSON text of the value to `buffer`.
    public func serialize(into buffer: inout [UInt8]) {
        var writer = ByteWriter(capacity: estimatedSize)
        write(to: &writer)
        writer.append(to: &buffer)
    }

    /// The compact JSON text as a `String`.
    public var jsonString: String { String(decoding: serialized(), as: UTF8.self) }

    /// Appends `string` as a quoted JSON string: `"` and `\` escaped, `\b \f \n \r \t` in short
    /// form, other control characters as `\u00XX`, everything else (including `/` and non-ASCII)
    /// as is. For building JSON by splicing bytes.
    public static func serialize(string: String, into buffer: inout [UInt8]) {
        var writer = ByteWriter(capacity: string.utf8.count + 2)
        writeString(string, to: &writer)
        writer.append(to: &buffer)
    }

    /// Roughly the serialised size (exact for ASCII text without escapes and short numbers):
    /// one walk over the tree spares the writer its regrowth copies.
    var estimatedSize: Int {
        switch self {
        case .null, .bool: 5
        case .int: 8
        case .double: 16
        case .string(let value): value.utf8.count + 2
        case .array(let elements):
            elements.reduce(2 + elements.count) { $0 + $1.estimatedSize }
        case .object(let object):
            object.entries.reduce(2 + 2 * object.count) { $0 + $1.key.utf8.count + 2 + $1.value.estimatedSize }
        }
    }

    func write(to writer: inout ByteWriter) {
        switch self {
        case .null:
            writer.write("null")
        case .bool(let value):
            writer.write(value ? "true" : "false")
        case .int(let value):
            JSON.writeInteger(value, to: &writer)
        case .double(let value):
            JSON.writeDouble(value, to: &writer)
        case .string(let value):
            JSON.writeString(value, to: &writer)
        case .array(let elements):
            writer.write(.openBracket)
            for (position, element) in elements.enumerated() {
                if position > 0 { writer.write(.comma) }
                element.write(to: &writer)
            }
            writer.write(.closeBracket)
        case .object(let object):
            writer.write(.openBrace)
            for (position, entry) in object.entries.enumerated() {
                if position > 0 { writer.write(.comma) }
                JSON.writeString(entry.key, to: &writer)
                writer.write(.colon)
                entry.value.write(to: &writer)
            }
            writer.write(.closeBrace)
        }
    }

    /// Whether any of the eight bytes is a quote, a backslash or below 0x20 (the bytes a JSON
    /// string cannot hold as is). Exact: no false positives or negatives.
    @inline(__always)
    static func needsEscaping(_ word: UInt64) -> Bool {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highs: UInt64 = 0x8080_8080_8080_8080
        let quotes = word ^ (ones &* 0x22)
        let backslashes = word ^ (ones &* 0x5C)
        let hasQuote = (quotes &- ones) & ~quotes
        let hasBackslash = (backslashes &- ones) & ~backslashes
        let hasControl = (word &- ones &* 0x20) & ~word
        return (hasQuote | hasBackslash | hasControl) & highs != 0
    }

    static func writeString(_ string: String, to writer: inout ByteWriter) {
        writer.write(.quote)
        let done: Void? = string.utf8.withContiguousStorageIfAvailable { writeEscaped($0, to: &writer) }
        if done == nil {
            var copy = string
            copy.withUTF8 { writeEscaped($0, to: &writer) }
        }
        writer.write(.quote)
    }

    private static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

    private static func writeEscaped(_ bytes: UnsafeBufferPointer<UInt8>, to writer: inout ByteWriter) {
        guard let base = bytes.baseAddress else { return }
        let count = bytes.count
        var runStart = 0
        var i = 0
        while i < count {
            if count - i >= 8, !needsEscaping(UnsafeRawPointer(base + i).loadUnaligned(as: UInt64.self)) {
                i += 8
                continue
            }
            let byte = base[i]
            i += 1
            guard byte < 0x20 || byte == .quote || byte == .backslash else { continue }
            writer.write(UnsafeBufferPointer(start: base + runStart, count: i - 1 - runStart))
            runStart = i
            writer.reserve(6)
            writer.writeReserved(.backslash)
            switch byte {
            case .quote, .backslash: writer.writeReserved(byte)
            case 0x08: writer.writeReserved(.b)
            case 0x0C: writer.writeReserved(.f)
            case 0x0A: writer.writeReserved(.n)
            case 0x0D: writer.writeReserved(.r)
            case 0x09: writer.writeReserved(.t)
            default:
                writer.writeReserved(.u)
                writer.writeReserved(.zero)
                writer.writeReserved(.zero)
                writer.writeReserved(hexDigits[Int(byte >> 4)])
                writer.writeReserved(hexDigits[Int(byte & 0xF)])
            }
        }
        writer.write(UnsafeBufferPointer(start: base + runStart, count: count - runStart))
    }

    /// Writes the decimal digits of `value`.
    static func writeInteger(_ value: Int64, to writer: inout ByteWriter) {
        writer.reserve(20)
        if value < 0 { writer.writeReserved(.minus) }
        var magnitude = value.magnitude
        if magnitude < 10 {
            writer.writeReserved(.zero + UInt8(magnitude))
            return
        }
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 20) { digits in
            var position = 20
            while magnitude > 0 {
                position -= 1
                digits[position] = .zero + UInt8(magnitude % 10)
                magnitude /= 10
            }
            writer.write(UnsafeBufferPointer(rebasing: digits[position..<20]))
        }
    }

    /// Writes the shortest text that reads back as the same `Double` (`null` when not finite).
    static func writeDouble(_ value: Double, to writer: inout ByteWriter) {
        guard value.isFinite else {
            writer.write("null")
            return
        }
        // `description` is the shortest round-trip form and always valid JSON for finite values
        // ("5.0", "1e-05", "1.7976931348623157e+308").
        var text = value.description
        text.withUTF8 { writer.write($0) }
    }
}

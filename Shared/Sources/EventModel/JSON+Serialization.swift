extension JSON {
    /// Compact UTF-8 JSON text: no whitespace, keys in order, `/` not escaped, integers exact,
    /// doubles in their shortest round-trip form, non-finite doubles as `null`.
    public func serialized() -> [UInt8] {
        var buffer: [UInt8] = []
        buffer.reserveCapacity(256)
        serialize(into: &buffer)
        return buffer
    }

    /// Appends the compact JSON text of the value to `buffer`.
    public func serialize(into buffer: inout [UInt8]) {
        switch self {
        case .null:
            buffer.append(contentsOf: "null".utf8)
        case .bool(let value):
            buffer.append(contentsOf: value ? "true".utf8 : "false".utf8)
        case .int(let value):
            JSON.serialize(value, into: &buffer)
        case .double(let value):
            JSON.serialize(value, into: &buffer)
        case .string(let value):
            JSON.serialize(string: value, into: &buffer)
        case .array(let elements):
            buffer.append(.openBracket)
            var first = true
            for element in elements {
                if !first { buffer.append(.comma) }
                first = false
                element.serialize(into: &buffer)
            }
            buffer.append(.closeBracket)
        case .object(let object):
            buffer.append(.openBrace)
            var first = true
            for entry in object.entries {
                if !first { buffer.append(.comma) }
                first = false
                JSON.serialize(string: entry.key, into: &buffer)
                buffer.append(.colon)
                entry.value.serialize(into: &buffer)
            }
            buffer.append(.closeBrace)
        }
    }

    /// The compact JSON text as a `String`.
    public var jsonString: String { String(decoding: serialized(), as: UTF8.self) }

    /// Appends `string` as a quoted JSON string: `"` and `\` escaped, `\b \f \n \r \t` in short
    /// form, other control characters as `\u00XX`, everything else (including `/` and non-ASCII)
    /// as is. For building JSON by splicing bytes.
    public static func serialize(string: String, into buffer: inout [UInt8]) {
        buffer.append(.quote)
        let done: Void? = string.utf8.withContiguousStorageIfAvailable { bytes in
            appendEscaped(bytes, into: &buffer)
        }
        if done == nil {
            var copy = string
            copy.withUTF8 { appendEscaped($0, into: &buffer) }
        }
        buffer.append(.quote)
    }

    private static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

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

    private static func appendEscaped(_ bytes: UnsafeBufferPointer<UInt8>, into buffer: inout [UInt8]) {
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
            let position = i - 1
            if runStart < position {
                buffer.append(contentsOf: UnsafeBufferPointer(start: base + runStart, count: position - runStart))
            }
            runStart = i
            buffer.append(.backslash)
            switch byte {
            case .quote, .backslash: buffer.append(byte)
            case 0x08: buffer.append(.b)
            case 0x0C: buffer.append(.f)
            case 0x0A: buffer.append(.n)
            case 0x0D: buffer.append(.r)
            case 0x09: buffer.append(.t)
            default:
                buffer.append(contentsOf: [.u, .zero, .zero, hexDigits[Int(byte >> 4)], hexDigits[Int(byte & 0xF)]])
            }
        }
        if runStart < count {
            buffer.append(contentsOf: UnsafeBufferPointer(start: base + runStart, count: count - runStart))
        }
    }

    /// Appends the decimal digits of `value`.
    static func serialize(_ value: Int64, into buffer: inout [UInt8]) {
        if value < 0 { buffer.append(.minus) }
        var magnitude = value.magnitude
        if magnitude < 10 {
            buffer.append(.zero + UInt8(magnitude))
            return
        }
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 20) { digits in
            var position = 20
            while magnitude > 0 {
                position -= 1
                digits[position] = .zero + UInt8(magnitude % 10)
                magnitude /= 10
            }
            buffer.append(contentsOf: UnsafeBufferPointer(rebasing: digits[position..<20]))
        }
    }

    /// Appends the shortest text that reads back as the same `Double` (`null` when not finite).
    static func serialize(_ value: Double, into buffer: inout [UInt8]) {
        guard value.isFinite else {
            buffer.append(contentsOf: "null".utf8)
            return
        }
        // `description` is the shortest round-trip form and always valid JSON for finite values
        // ("5.0", "1e-05", "1.7976931348623157e+308").
        buffer.append(contentsOf: value.description.utf8)
    }
}

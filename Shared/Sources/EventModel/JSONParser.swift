/// A recursive-descent RFC 8259 parser over a UTF-8 buffer.
///
/// Strings without escapes become `String`s straight from their byte range, with no per-character
/// work: the scan for the closing quote looks at eight bytes at a time and notes whether any byte
/// is non-ASCII, and only then is the range validated as UTF-8.
struct JSONParser: ~Copyable {
    private let base: UnsafePointer<UInt8>
    private let count: Int
    private var index = 0
    /// Members of the objects being parsed, innermost last.
    private var members = ScratchStack<JSONObject.Entry>()
    /// Elements of the arrays being parsed, innermost last.
    private var elements = ScratchStack<JSON>()
    /// Whether the text read so far is exactly what serialising its tree writes (no whitespace,
    /// no escapes, no repeated keys, numbers in their serialised form). Only tracked for
    /// ``parseCapturingMember(_:named:)``.
    private var canonical = true
    /// The top-level member whose value's byte range is captured, and what was captured.
    private var captureKey: String?
    private var captured: (range: Range<Int>, canonical: Bool)?
    private var capturedRepeats = false

    private init(base: UnsafePointer<UInt8>, count: Int) {
        self.base = base
        self.count = count
    }

    static func parse(_ buffer: UnsafeBufferPointer<UInt8>) throws(JSONError) -> JSON {
        guard let base = buffer.baseAddress, !buffer.isEmpty else {
            throw JSONError(offset: 0, reason: "empty input")
        }
        var parser = JSONParser(base: base, count: buffer.count)
        let value = try parser.parseValue(depth: 0)
        parser.skipWhitespace()
        guard parser.index == parser.count else { throw parser.error("unexpected content after the value") }
        return value
    }

    /// Parses an object and returns, with it, the byte range of the value of its member
    /// `key` when that value's text is exactly what serialising its tree writes; `nil` when the
    /// member is missing, repeated, or written otherwise (whitespace, escapes, another number
    /// form).
    static func parseCapturingMember(_ buffer: UnsafeBufferPointer<UInt8>, named key: String) throws(JSONError)
        -> (JSON, Range<Int>?)
    {
        guard let base = buffer.baseAddress, !buffer.isEmpty else {
            throw JSONError(offset: 0, reason: "empty input")
        }
        var parser = JSONParser(base: base, count: buffer.count)
        parser.captureKey = key
        let value = try parser.parseValue(depth: 0)
        parser.skipWhitespace()
        guard parser.index == parser.count else { throw parser.error("unexpected content after the value") }
        guard let captured = parser.captured, captured.canonical, !parser.capturedRepeats else { return (value, nil) }
        return (value, captured.range)
    }

    // MARK: Values

    private mutating func parseValue(depth: Int) throws(JSONError) -> JSON {
        skipWhitespace()
        guard index < count else { throw error("unexpected end of input") }
        switch base[index] {
        case .quote: return .string(try parseString())
        case .openBrace: return try parseObject(depth: depth + 1)
        case .openBracket: return try parseArray(depth: depth + 1)
        case .minus, .zero ... .nine: return try parseNumber()
        case .t:
            try expectLiteral(0x74_72_75_65, length: 4)  // "true"
            return .bool(true)
        case .f:
            try expectLiteral(0x66_61_6C_73_65, length: 5)  // "false"
            return .bool(false)
        case .n:
            try expectLiteral(0x6E_75_6C_6C, length: 4)  // "null"
            return .null
        default:
            throw error("unexpected character")
        }
    }

    /// Consumes a literal given as big-endian ASCII packed in an integer.
    private mutating func expectLiteral(_ packed: UInt64, length: Int) throws(JSONError) {
        guard count - index >= length else { throw error("invalid literal") }
        for i in 0..<length {
            let expected = UInt8(truncatingIfNeeded: packed >> (8 * UInt64(length - 1 - i)))
            guard base[index + i] == expected else {
                index += i
                throw error("invalid literal")
            }
        }
        index += length
    }

    private mutating func parseObject(depth: Int) throws(JSONError) -> JSON {
        guard depth <= JSON.maximumDepth else { throw error("nesting too deep") }
        index += 1  // {
        skipWhitespace()
        if index < count, base[index] == .closeBrace {
            index += 1
            return .object(JSONObject())
        }
        let first = members.count
        /// Key to scratch position, once the object is too large for linear duplicate checks.
        var positions: [String: Int]?
        while true {
            guard index < count else { throw error("unexpected end of input") }
            guard base[index] == .quote else {
                throw error(base[index] == .closeBrace ? "trailing comma" : "expected a string key")
            }
            let key = try parseString()
            skipWhitespace()
            guard index < count else { throw error("unexpected end of input") }
            guard base[index] == .colon else { throw error("expected ':'") }
            index += 1
            let value: JSON
            if depth == 1, let captureKey, key == captureKey {
                if captured != nil { capturedRepeats = true }
                skipWhitespace()
                let start = index
                let outer = canonical
                canonical = true
                value = try parseValue(depth: depth)
                captured = (start..<index, canonical)
                canonical = outer && canonical
            } else {
                value = try parseValue(depth: depth)
            }
            // A repeated key keeps its first position and takes the new value.
            if let duplicate = duplicatePosition(of: key, from: first, positions: &positions) {
                canonical = false
                members[duplicate].value = value
            } else {
                members.push(JSONObject.Entry(key: key, value: value))
            }
            skipWhitespace()
            guard index < count else { throw error("unexpected end of input") }
            let byte = base[index]
            index += 1
            if byte == .comma {
                skipWhitespace()
                continue
            }
            if byte == .closeBrace { return .object(JSONObject(uniqueEntries: members.popArray(from: first))) }
            index -= 1
            throw error("expected ',' or '}'")
        }
    }

    /// The scratch position of `key` among the members from `first`, or `nil`.
    @inline(__always)
    private func duplicatePosition(of key: String, from first: Int, positions: inout [String: Int]?) -> Int? {
        let existing = members.count - first
        if existing <= JSONObject.indexThreshold {
            let length = key.utf8.count
            for position in first..<members.count {
                let other = members[position].key
                if other.utf8.count == length, other == key { return position }
            }
            return nil
        }
        if positions == nil {
            var index = [String: Int](minimumCapacity: existing * 2)
            for position in first..<members.count { index[members[position].key] = position }
            positions = index
        }
        if let position = positions![key] { return position }
        positions![key] = members.count  // where the caller pushes it
        return nil
    }

    private mutating func parseArray(depth: Int) throws(JSONError) -> JSON {
        guard depth <= JSON.maximumDepth else { throw error("nesting too deep") }
        index += 1  // [
        skipWhitespace()
        if index < count, base[index] == .closeBracket {
            index += 1
            return .array([])
        }
        let first = elements.count
        while true {
            skipWhitespace()
            if index < count, base[index] == .closeBracket, elements.count > first { throw error("trailing comma") }
            elements.push(try parseValue(depth: depth))
            skipWhitespace()
            guard index < count else { throw error("unexpected end of input") }
            let byte = base[index]
            index += 1
            if byte == .comma { continue }
            if byte == .closeBracket { return .array(elements.popArray(from: first)) }
            index -= 1
            throw error("expected ',' or ']'")
        }
    }

    // MARK: Strings

    /// Parses a string starting at its opening quote.
    private mutating func parseString() throws(JSONError) -> String {
        index += 1  // "
        let start = index
        // Fast scan: stop at the quote, a backslash or a control character, and note whether
        // any byte is non-ASCII.
        var seen: UInt64 = 0
        while count - index >= 8 {
            let word = UnsafeRawPointer(base + index).loadUnaligned(as: UInt64.self)
            if JSON.needsEscaping(word) { break }
            seen |= word
            index += 8
        }
        while index < count {
            let byte = base[index]
            if byte == .quote {
                let bytes = UnsafeBufferPointer(start: base + start, count: index - start)
                index += 1
                if seen & 0x8080_8080_8080_8080 == 0 {
                    return String(decoding: bytes, as: UTF8.self)  // ASCII: nothing to validate
                }
                return try Self.makeString(bytes, at: start)
            }
            if byte == .backslash { return try parseEscapedString(from: start) }
            if byte < 0x20 { throw error("control character in string") }
            seen |= UInt64(byte)
            index += 1
        }
        throw error("unterminated string")
    }

    /// The slow path, from the first backslash: decode escapes into a byte buffer.
    private mutating func parseEscapedString(from start: Int) throws(JSONError) -> String {
        canonical = false
        var bytes: [UInt8] = []
        bytes.reserveCapacity(index - start + 16)
        bytes.append(contentsOf: UnsafeBufferPointer(start: base + start, count: index - start))
        while index < count {
            let byte = base[index]
            if byte == .quote {
                index += 1
                let result = bytes.withUnsafeBufferPointer { buffer in
                    Result { () throws(JSONError) in try Self.makeString(buffer, at: start) }
                }
                return try result.get()
            }
            if byte < 0x20 { throw error("control character in string") }
            if byte != .backslash {
                // Copy the run up to the next byte that needs attention in one go.
                let runStart = index
                index += 1
                while count - index >= 8,
                    !JSON.needsEscaping(UnsafeRawPointer(base + index).loadUnaligned(as: UInt64.self))
                {
                    index += 8
                }
                while index < count, base[index] >= 0x20, base[index] != .quote, base[index] != .backslash {
                    index += 1
                }
                bytes.append(contentsOf: UnsafeBufferPointer(start: base + runStart, count: index - runStart))
                continue
            }
            index += 1
            guard index < count else { break }
            let escaped = base[index]
            index += 1
            switch escaped {
            case .quote, .backslash, .slash: bytes.append(escaped)
            case .b: bytes.append(0x08)
            case .f: bytes.append(0x0C)
            case .n: bytes.append(0x0A)
            case .r: bytes.append(0x0D)
            case .t: bytes.append(0x09)
            case .u: Self.appendUTF8(try parseUnicodeEscape(), to: &bytes)
            default:
                index -= 1
                throw error("invalid escape")
            }
        }
        throw error("unterminated string")
    }

    /// Decodes the scalar of a `\u` escape (after `\u`), joining a surrogate pair; a lone
    /// surrogate becomes U+FFFD.
    private mutating func parseUnicodeEscape() throws(JSONError) -> UInt32 {
        let first = try parseHex4()
        switch first {
        case 0xD800...0xDBFF:
            guard count - index >= 6, base[index] == .backslash, base[index + 1] == .u else { return 0xFFFD }
            let save = index
            index += 2
            let second = try parseHex4()
            guard (0xDC00...0xDFFF).contains(second) else {
                index = save  // the next escape stands on its own
                return 0xFFFD
            }
            return 0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00)
        case 0xDC00...0xDFFF:
            return 0xFFFD
        default:
            return first
        }
    }

    private mutating func parseHex4() throws(JSONError) -> UInt32 {
        guard count - index >= 4 else { throw error("invalid \\u escape") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = base[index]
            let digit: UInt8
            switch byte {
            case .zero ... .nine: digit = byte - .zero
            case 0x61...0x66: digit = byte - 0x61 + 10  // a-f
            case 0x41...0x46: digit = byte - 0x41 + 10  // A-F
            default: throw error("invalid \\u escape")
            }
            value = value << 4 | UInt32(digit)
            index += 1
        }
        return value
    }

    private static func appendUTF8(_ scalar: UInt32, to bytes: inout [UInt8]) {
        switch scalar {
        case 0..<0x80:
            bytes.append(UInt8(scalar))
        case 0x80..<0x800:
            bytes.append(0xC0 | UInt8(scalar >> 6))
            bytes.append(0x80 | UInt8(scalar & 0x3F))
        case 0x800..<0x10000:
            bytes.append(0xE0 | UInt8(scalar >> 12))
            bytes.append(0x80 | UInt8((scalar >> 6) & 0x3F))
            bytes.append(0x80 | UInt8(scalar & 0x3F))
        default:
            bytes.append(0xF0 | UInt8(scalar >> 18))
            bytes.append(0x80 | UInt8((scalar >> 12) & 0x3F))
            bytes.append(0x80 | UInt8((scalar >> 6) & 0x3F))
            bytes.append(0x80 | UInt8(scalar & 0x3F))
        }
    }

    /// A `String` from bytes that must be valid UTF-8.
    private static func makeString(_ bytes: UnsafeBufferPointer<UInt8>, at offset: Int) throws(JSONError) -> String {
        guard UTF8Validation.isValid(bytes) else { throw JSONError(offset: offset, reason: "invalid UTF-8 in string") }
        return String(decoding: bytes, as: UTF8.self)  // valid, so nothing is replaced
    }

    // MARK: Numbers

    private static let exactPowersOfTen: [Double] = [
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
        1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
    ]

    /// Parses a number. Integers that fit `Int64` stay exact; other numbers are converted with
    /// one exact multiplication when the digits allow (Clinger's fast path), else by the standard
    /// library's correctly rounded conversion.
    private mutating func parseNumber() throws(JSONError) -> JSON {
        let start = index
        var negative = false
        if base[index] == .minus {
            negative = true
            index += 1
        }
        guard index < count, base[index].isDigit else { throw error("invalid number") }
        var mantissa: UInt64 = 0
        var significantDigits = 0
        var decimalExponent = 0
        if base[index] == .zero {
            index += 1
            if index < count, base[index].isDigit { throw error("leading zero in number") }
        } else {
            while index < count, base[index].isDigit {
                let digit = UInt64(base[index] &- .zero)
                if significantDigits < 19 {
                    mantissa = mantissa &* 10 &+ digit
                    significantDigits += 1
                } else {
                    decimalExponent += 1
                    significantDigits += 1
                }
                index += 1
            }
        }
        var isInteger = true
        let integerDigits = index - start - (negative ? 1 : 0)
        var fractionStart = index
        if index < count, base[index] == .dot {
            isInteger = false
            index += 1
            fractionStart = index
            guard index < count, base[index].isDigit else { throw error("invalid number: digits expected after '.'") }
            while index < count, base[index].isDigit {
                let digit = UInt64(base[index] &- .zero)
                if mantissa == 0 && digit == 0 {
                    decimalExponent -= 1
                } else if significantDigits < 19 {
                    mantissa = mantissa &* 10 &+ digit
                    significantDigits += 1
                    decimalExponent -= 1
                } else {
                    significantDigits += 1
                }
                index += 1
            }
        }
        let fractionEnd = index
        if index < count, base[index] | 0x20 == .e {
            canonical = false
            isInteger = false
            index += 1
            var exponentNegative = false
            if index < count, base[index] == .plus || base[index] == .minus {
                exponentNegative = base[index] == .minus
                index += 1
            }
            guard index < count, base[index].isDigit else { throw error("invalid number: digits expected in exponent") }
            var exponent = 0
            while index < count, base[index].isDigit {
                if exponent < 100_000 { exponent = exponent * 10 + Int(base[index] &- .zero) }
                index += 1
            }
            decimalExponent += exponentNegative ? -exponent : exponent
        }
        if isInteger, significantDigits <= 19 {
            if negative, mantissa == 0 { canonical = false }  // -0 is written 0
            if negative {
                if mantissa <= UInt64(Int64.max) + 1 { return .int(0 &- Int64(truncatingIfNeeded: mantissa)) }
            } else if mantissa <= UInt64(Int64.max) {
                return .int(Int64(mantissa))
            }
        }
        if canonical {
            canonical = Self.isShortestForm(
                base: base, integerDigits: integerDigits, fraction: fractionStart..<fractionEnd,
                significantDigits: significantDigits, isInteger: isInteger)
        }
        if significantDigits <= 19, mantissa <= 1 << 53, (-22...22).contains(decimalExponent) {
            var value = Double(mantissa)
            if decimalExponent >= 0 {
                value *= Self.exactPowersOfTen[decimalExponent]
            } else {
                value /= Self.exactPowersOfTen[-decimalExponent]
            }
            return .double(negative ? -value : value)
        }
        if mantissa == 0 { return .double(negative ? -0.0 : 0.0) }
        let text = String(decoding: UnsafeBufferPointer(start: base + start, count: index - start), as: UTF8.self)
        guard let value = Double(text), value.isFinite else {
            throw JSONError(offset: start, reason: "number out of range")
        }
        return .double(value)
    }

    /// Whether a number literal without exponent that is not kept as an integer reads as
    /// `Double.description` writes it: a fraction not ending in `0`, at most 15 significant
    /// digits (so no shorter text reads back as the same `Double`), and a magnitude written
    /// without exponent (below 10^15, and at least 0.001).
    private static func isShortestForm(
        base: UnsafePointer<UInt8>, integerDigits: Int, fraction: Range<Int>, significantDigits: Int, isInteger: Bool
    ) -> Bool {
        guard !isInteger, !fraction.isEmpty, base[fraction.upperBound - 1] != .zero, significantDigits <= 15,
            integerDigits <= 15
        else { return false }
        if integerDigits == 1, base[fraction.lowerBound - 2] == .zero {
            // 0.xxx: at most two zeros after the point.
            var position = fraction.lowerBound
            while position < fraction.upperBound, base[position] == .zero { position += 1 }
            return position - fraction.lowerBound <= 2
        }
        return true
    }

    // MARK: Helpers

    @inline(__always)
    private mutating func skipWhitespace() {
        while index < count {
            switch base[index] {
            case .space, .newline, .tab, .carriageReturn:
                index += 1
                canonical = false
            default: return
            }
        }
    }

    private func error(_ reason: String) -> JSONError {
        JSONError(offset: index, reason: reason)
    }
}

extension UInt8 {
    static let quote = UInt8(ascii: "\"")
    static let backslash = UInt8(ascii: "\\")
    static let slash = UInt8(ascii: "/")
    static let openBrace = UInt8(ascii: "{")
    static let closeBrace = UInt8(ascii: "}")
    static let openBracket = UInt8(ascii: "[")
    static let closeBracket = UInt8(ascii: "]")
    static let colon = UInt8(ascii: ":")
    static let comma = UInt8(ascii: ",")
    static let minus = UInt8(ascii: "-")
    static let plus = UInt8(ascii: "+")
    static let dot = UInt8(ascii: ".")
    static let zero = UInt8(ascii: "0")
    static let nine = UInt8(ascii: "9")
    static let space = UInt8(ascii: " ")
    static let newline = UInt8(ascii: "\n")
    static let tab = UInt8(ascii: "\t")
    static let carriageReturn = UInt8(ascii: "\r")
    static let b = UInt8(ascii: "b")
    static let e = UInt8(ascii: "e")
    static let f = UInt8(ascii: "f")
    static let n = UInt8(ascii: "n")
    static let r = UInt8(ascii: "r")
    static let t = UInt8(ascii: "t")
    static let u = UInt8(ascii: "u")

    var isDigit: Bool { self &- .zero < 10 }
}

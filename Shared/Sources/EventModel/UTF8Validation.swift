/// Strict UTF-8 validation (RFC 3629): no overlong forms, no encoded surrogates, nothing above
/// U+10FFFF, no truncated sequences.
enum UTF8Validation {
    static func isValid(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        guard let p = bytes.baseAddress else { return true }
        let count = bytes.count
        var i = 0
        while i < count {
            // Skip ASCII eight bytes at a time.
            while count - i >= 8, UnsafeRawPointer(p + i).loadUnaligned(as: UInt64.self) & 0x8080_8080_8080_8080 == 0 {
                i += 8
            }
            guard i < count else { break }
            let lead = p[i]
            if lead < 0x80 {
                i += 1
                continue
            }
            // Sequence length and the allowed range of the second byte, per RFC 3629's table.
            let (length, low, high): (Int, UInt8, UInt8)
            switch lead {
            case 0xC2...0xDF: (length, low, high) = (2, 0x80, 0xBF)
            case 0xE0: (length, low, high) = (3, 0xA0, 0xBF)  // no overlong 3-byte forms
            case 0xE1...0xEC, 0xEE...0xEF: (length, low, high) = (3, 0x80, 0xBF)
            case 0xED: (length, low, high) = (3, 0x80, 0x9F)  // no surrogates
            case 0xF0: (length, low, high) = (4, 0x90, 0xBF)  // no overlong 4-byte forms
            case 0xF1...0xF3: (length, low, high) = (4, 0x80, 0xBF)
            case 0xF4: (length, low, high) = (4, 0x80, 0x8F)  // nothing above U+10FFFF
            default: return false  // continuation byte, C0, C1 or F5...FF
            }
            guard count - i >= length, (low...high).contains(p[i + 1]) else { return false }
            for k in 2..<length where p[i + k] & 0xC0 != 0x80 { return false }
            i += length
        }
        return true
    }
}

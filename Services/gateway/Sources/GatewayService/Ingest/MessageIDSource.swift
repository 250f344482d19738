#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Random UUID v4 message ids for one request, from one `getrandom` call for all of them
/// (`UUID()` costs a syscall per id on Linux: see stack-facts).
struct MessageIDSource {
    private var random: [UInt8]
    private var offset = 0

    /// Prepares ids for up to `count` events; more are still produced, by refilling.
    init(count: Int) {
        random = Self.randomBytes(16 * max(1, count))
    }

    /// The next id as a quoted JSON string (`"xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx"`).
    mutating func nextQuoted() -> [UInt8] {
        if offset + 16 > random.count {
            random = Self.randomBytes(random.count)
            offset = 0
        }
        let hex: StaticString = "0123456789abcdef"
        let digits = hex.utf8Start
        var out = [UInt8](repeating: UInt8(ascii: "-"), count: 38)
        out[0] = UInt8(ascii: "\"")
        out[37] = UInt8(ascii: "\"")
        var position = 1
        for index in 0..<16 {
            var byte = random[offset + index]
            if index == 6 { byte = (byte & 0x0F) | 0x40 }  // version 4
            if index == 8 { byte = (byte & 0x3F) | 0x80 }  // RFC 4122 variant
            if position == 9 || position == 14 || position == 19 || position == 24 { position += 1 }
            out[position] = digits[Int(byte >> 4)]
            out[position + 1] = digits[Int(byte & 0x0F)]
            position += 2
        }
        offset += 16
        return out
    }

    private static func randomBytes(_ count: Int) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        // glibc's arc4random_buf reads getrandom once for the whole buffer (glibc ≥ 2.36).
        bytes.withUnsafeMutableBytes { buffer in
            arc4random_buf(buffer.baseAddress!, buffer.count)
        }
        return bytes
    }
}

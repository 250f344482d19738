/// Message ids: random (version 4) UUIDs in lowercase text form.
///
/// Random bytes come from a shared 4 KiB pool refilled from the kernel (`getentropy`), so a new id
/// costs a lock and 16 bytes of copying instead of the syscalls behind `UUID()` (~5 µs on Linux).
public enum MessageID {
    /// A new UUID v4 such as `1b4e28ba-2fa1-4d2b-a3f6-6e1f4b2a9c7d`.
    public static func random() -> String {
        String(unsafeUninitializedCapacity: 36) { buffer in
            write(into: buffer.baseAddress!)
            return 36
        }
    }

    /// Appends the 36 bytes of a new UUID v4 to `buffer`, for splicing into JSON.
    public static func appendRandom(to buffer: inout [UInt8]) {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 36) { text in
            write(into: text.baseAddress!)
            buffer.append(contentsOf: UnsafeBufferPointer(text))
        }
    }

    /// Whether `text` is a UUID in the 8-4-4-4-12 hexadecimal form (any version, any case).
    public static func isUUID(_ text: String) -> Bool {
        guard text.utf8.count == 36 else { return false }
        for (i, byte) in text.utf8.enumerated() {
            if i == 8 || i == 13 || i == 18 || i == 23 {
                guard byte == UInt8(ascii: "-") else { return false }
            } else {
                guard byte.isHexDigit else { return false }
            }
        }
        return true
    }

    @inline(__always)
    private static func hex(_ nibble: UInt8) -> UInt8 {
        nibble < 10 ? UInt8(ascii: "0") + nibble : UInt8(ascii: "a") - 10 + nibble
    }

    private static func write(into text: UnsafeMutablePointer<UInt8>) {
        var bytes = RandomBytePool.shared.next16()
        withUnsafeMutableBytes(of: &bytes) { raw in
            raw[6] = raw[6] & 0x0F | 0x40  // version 4
            raw[8] = raw[8] & 0x3F | 0x80  // RFC 4122 variant
            var position = 0
            for i in 0..<16 {
                if i == 4 || i == 6 || i == 8 || i == 10 {
                    text[position] = UInt8(ascii: "-")
                    position += 1
                }
                text[position] = hex(raw[i] >> 4)
                text[position + 1] = hex(raw[i] & 0x0F)
                position += 2
            }
        }
    }
}

extension UInt8 {
    var isHexDigit: Bool {
        (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(self)
            || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(self)
            || (UInt8(ascii: "A")...UInt8(ascii: "F")).contains(self)
    }
}

import Foundation

/// Quoting helpers for names that cannot be bound as parameters (schemas, databases, channels).
public enum SQLIdentifier {
    /// `name` as a double-quoted SQL identifier, with embedded quotes doubled.
    public static func quoted(_ name: String) -> String {
        "\"" + name.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    /// `text` as a single-quoted SQL string literal, with embedded quotes doubled.
    public static func literal(_ text: String) -> String {
        "'" + text.replacingOccurrences(of: "'", with: "''") + "'"
    }

    /// A stable 64-bit key for `pg_advisory_lock`, the same in every process (FNV-1a of the UTF-8 bytes).
    public static func advisoryLockKey(_ name: String) -> Int64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in name.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        return Int64(bitPattern: hash)
    }
}

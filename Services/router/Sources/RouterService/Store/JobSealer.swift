import Crypto
import Foundation

/// Encrypts delivery jobs at rest in `router.parked` and `router.failed` (AES-256-GCM), so that
/// the API keys and tokens in their request headers, URLs and bodies are not readable in the
/// database or its backups. Keys come from `KEEL_STORED_JOB_KEYS`: base64 of 32 random bytes each,
/// comma-separated; the first seals, every one opens (rotation: put the new key first, keep the
/// old ones until no row sealed with them is left).
///
/// A sealed job is the text `keel-sealed:v1:<key id>:<base64 of nonce, ciphertext and tag>`; the key
/// id is the first 8 hex digits of the key's SHA-256, so a row names the key it needs without
/// revealing it. Rows written without sealing (no keys configured, or before they were) are read
/// as they are.
public struct JobSealer: Sendable {
    public static let prefix = "keel-sealed:v1:"

    struct Key: Sendable {
        var id: String
        var bytes: [UInt8]
        var key: SymmetricKey { SymmetricKey(data: bytes) }
    }

    let keys: [Key]

    /// Keys as raw 32-byte values; the first seals.
    public init(keys: [[UInt8]]) throws(JobSealerError) {
        guard !keys.isEmpty else { throw .noKeys }
        self.keys = try keys.enumerated().map { (index, bytes) throws(JobSealerError) in
            guard bytes.count == 32 else { throw .badKey(index: index) }
            let id = SHA256.hash(data: bytes).prefix(4).map { String(format: "%02x", $0) }.joined()
            return Key(id: id, bytes: bytes)
        }
    }

    /// The keys of `KEEL_STORED_JOB_KEYS` (base64, comma-separated); nil when it is unset or empty.
    public init?(environmentValue: String?) throws(JobSealerError) {
        guard let text = environmentValue?.trimmingCharacters(in: .whitespaces), !text.isEmpty else { return nil }
        var keys: [[UInt8]] = []
        for (index, part) in text.split(separator: ",").enumerated() {
            guard let data = Data(base64Encoded: part.trimmingCharacters(in: .whitespaces)) else { throw .badKey(index: index) }
            keys.append(Array(data))
        }
        try self.init(keys: keys)
    }

    /// The id of the key that seals (for logs: it names the key, not its value).
    public var sealingKeyID: String { keys[0].id }

    /// `job` encrypted with the first key.
    public func seal(_ job: [UInt8]) -> String {
        // AES-GCM with a random 96-bit nonce; the combined form is nonce + ciphertext + tag.
        let box = try! AES.GCM.seal(job, using: keys[0].key)
        return Self.prefix + keys[0].id + ":" + box.combined!.base64EncodedString()
    }

    /// The job text of a row: opened when it is sealed, as it is otherwise.
    public func open(_ text: String) throws(JobSealerError) -> [UInt8] {
        try Self.open(text, keys: keys)
    }

    /// The job of a row read without a sealer: a sealed row cannot be opened.
    static func open(_ text: String, keys: [Key]) throws(JobSealerError) -> [UInt8] {
        guard text.hasPrefix(prefix) else { return Array(text.utf8) }
        let rest = text.dropFirst(prefix.count)
        guard let colon = rest.firstIndex(of: ":") else { throw .malformed }
        let id = String(rest[..<colon])
        guard let key = keys.first(where: { $0.id == id }) else { throw .unknownKey(id: id) }
        guard let data = Data(base64Encoded: String(rest[rest.index(after: colon)...])),
            let box = try? AES.GCM.SealedBox(combined: data),
            let plain = try? AES.GCM.open(box, using: key.key)
        else { throw .malformed }
        return Array(plain)
    }
}

/// Why a sealer cannot be built or a row opened. Never carries key material.
public enum JobSealerError: Error, Sendable, Equatable, CustomStringConvertible {
    case noKeys
    case badKey(index: Int)
    case unknownKey(id: String)
    case malformed

    public var description: String {
        switch self {
        case .noKeys: "KEEL_STORED_JOB_KEYS: no key"
        case .badKey(let index): "KEEL_STORED_JOB_KEYS: key \(index + 1) is not base64 of 32 bytes"
        case .unknownKey(let id): "the stored job is sealed with key \(id), which KEEL_STORED_JOB_KEYS does not hold"
        case .malformed: "the stored job is sealed but cannot be opened (altered, or another key with the same id)"
        }
    }
}

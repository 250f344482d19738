import Crypto

/// Identifies a transformation version: SHA-256 of its code and its libraries (sorted by name).
/// A changed transformation or library gets a new key and so a fresh realm.
struct RealmKey: Hashable, Sendable {
    /// The digest's 32 bytes as four words.
    let words: (UInt64, UInt64, UInt64, UInt64)

    init(transformation: TransformationCode, libraries: [LibraryCode]) {
        var hasher = SHA256()
        func add(_ text: String) {
            var length = UInt64(text.utf8.count).littleEndian
            withUnsafeBytes(of: &length) { hasher.update(bufferPointer: $0) }
            hasher.update(data: Array(text.utf8))
        }
        add(transformation.id)
        add(transformation.code)
        for library in libraries.sorted(by: { $0.name < $1.name }) {
            add(library.name)
            add(library.code)
        }
        words = hasher.finalize().withUnsafeBytes { raw in
            (
                raw.loadUnaligned(fromByteOffset: 0, as: UInt64.self), raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self),
                raw.loadUnaligned(fromByteOffset: 16, as: UInt64.self), raw.loadUnaligned(fromByteOffset: 24, as: UInt64.self)
            )
        }
    }

    static func == (a: RealmKey, b: RealmKey) -> Bool { a.words == b.words }

    func hash(into hasher: inout Hasher) { hasher.combine(words.0) }  // already a digest

}

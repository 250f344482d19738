#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Cryptographically random bytes handed out 16 at a time from a 4 KiB buffer.
///
/// `@unchecked Sendable`: every access to `buffer` and `position` happens with `mutex` held.
final class RandomBytePool: @unchecked Sendable {
    static let shared = RandomBytePool()

    private static let size = 4096
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let buffer: UnsafeMutableRawPointer
    private var position: Int

    private init() {
        mutex = .allocate(capacity: 1)
        mutex.initialize(to: pthread_mutex_t())
        pthread_mutex_init(mutex, nil)
        buffer = .allocate(byteCount: Self.size, alignment: 16)
        position = Self.size
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
        buffer.deallocate()
    }

    /// Sixteen fresh random bytes; no byte is handed out twice.
    func next16() -> (UInt64, UInt64) {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        if position + 16 > Self.size {
            refill()
            position = 0
        }
        let words = (
            buffer.loadUnaligned(fromByteOffset: position, as: UInt64.self),
            buffer.loadUnaligned(fromByteOffset: position + 8, as: UInt64.self)
        )
        position += 16
        return words
    }

    /// Fills the buffer from the kernel, 256 bytes per call (`getentropy`'s limit); falls back to
    /// the standard library's system generator should the call fail.
    private func refill() {
        var offset = 0
        while offset < Self.size {
            if getentropy(buffer + offset, 256) != 0 {
                var generator = SystemRandomNumberGenerator()
                for i in stride(from: offset, to: Self.size, by: 8) {
                    buffer.storeBytes(of: generator.next() as UInt64, toByteOffset: i, as: UInt64.self)
                }
                return
            }
            offset += 256
        }
    }
}

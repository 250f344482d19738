#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Where formatted log lines go. Each call receives one complete line, newline included, so that
/// lines from concurrent tasks never interleave.
public struct LogSink: Sendable {
    private let writeLine: @Sendable ([UInt8]) -> Void

    /// A sink that hands each line to `write`; tests use it to capture output.
    public init(_ write: @escaping @Sendable ([UInt8]) -> Void) {
        self.writeLine = write
    }

    /// Writes each line with a single `write(2)` to standard error (file descriptor 2).
    public static let standardError = LogSink { line in
        writeFully(fileDescriptor: 2, line)
    }

    func write(_ line: [UInt8]) {
        self.writeLine(line)
    }
}

/// Writes all of `bytes`, retrying on EINTR and partial writes; gives up silently on other errors
/// (there is nowhere left to report a failure to write the log).
private func writeFully(fileDescriptor: Int32, _ bytes: [UInt8]) {
    bytes.withUnsafeBytes { buffer in
        guard var pointer = buffer.baseAddress else { return }
        var remaining = buffer.count
        while remaining > 0 {
            let written = write(fileDescriptor, pointer, remaining)
            if written < 0 {
                if errno == EINTR { continue }
                return
            }
            pointer += written
            remaining -= written
        }
    }
}

import CZlib

/// Compresses a stream of bytes into one gzip member (zlib's deflate with windowBits 31), as it
/// is written: the uncompressed NDJSON is never held whole.
final class GzipWriter {
    /// zlib keeps a pointer back to its stream, so the stream lives at a fixed address.
    private let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
    private var output: [UInt8] = []
    private var chunk = [UInt8](repeating: 0, count: 64 * 1024)
    private var ended = false

    /// `level`: zlib's 0 (store) … 9 (smallest); -1 is zlib's default (6).
    init(level: Int32) throws(GzipError) {
        stream.initialize(to: z_stream())
        let status = deflateInit2_(
            stream, level, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
        guard status == Z_OK else {
            stream.deallocate()
            throw GzipError(status: status)
        }
    }

    deinit {
        deflateEnd(stream)
        stream.deallocate()
    }

    /// Compresses `bytes`.
    func write(_ bytes: [UInt8]) throws(GzipError) {
        try bytes.withUnsafeBufferPointer { (input) throws(GzipError) in
            try deflate(input, flush: Z_NO_FLUSH)
        }
    }

    /// Ends the gzip member and returns the compressed bytes.
    func finish() throws(GzipError) -> [UInt8] {
        if !ended {
            try deflate(UnsafeBufferPointer(start: nil, count: 0), flush: Z_FINISH)
            ended = true
        }
        return output
    }

    private func deflate(_ input: UnsafeBufferPointer<UInt8>, flush: Int32) throws(GzipError) {
        stream.pointee.next_in = UnsafeMutablePointer(mutating: input.baseAddress)
        stream.pointee.avail_in = UInt32(input.count)
        let stream = self.stream
        while true {
            let status: Int32 = chunk.withUnsafeMutableBufferPointer { out in
                stream.pointee.next_out = out.baseAddress
                stream.pointee.avail_out = UInt32(out.count)
                return CZlib.deflate(stream, flush)
            }
            let produced = chunk.count - Int(stream.pointee.avail_out)
            if produced > 0 { output.append(contentsOf: chunk[0..<produced]) }
            if status == Z_STREAM_END { return }
            guard status == Z_OK || status == Z_BUF_ERROR else { throw GzipError(status: status) }
            if flush == Z_NO_FLUSH && stream.pointee.avail_in == 0 && stream.pointee.avail_out > 0 { return }
        }
    }
}

/// zlib refused to compress (out of memory, bad level).
struct GzipError: Error, CustomStringConvertible {
    var status: Int32
    var description: String { "gzip failed (zlib status \(status))" }
}

/// Decompresses a whole gzip file (tests and tools reading back uploads).
public enum Gunzip {
    /// The uncompressed bytes, or nil when `bytes` is not valid gzip or inflates past `limit`.
    public static func decompress(_ bytes: [UInt8], limit: Int = 1 << 30) -> [UInt8]? {
        let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
        stream.initialize(to: z_stream())
        defer { stream.deallocate() }
        guard inflateInit2_(stream, 31, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else { return nil }
        defer { inflateEnd(stream) }
        var output: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        return bytes.withUnsafeBufferPointer { input -> [UInt8]? in
            stream.pointee.next_in = UnsafeMutablePointer(mutating: input.baseAddress)
            stream.pointee.avail_in = UInt32(input.count)
            while true {
                let status: Int32 = chunk.withUnsafeMutableBufferPointer { out in
                    stream.pointee.next_out = out.baseAddress
                    stream.pointee.avail_out = UInt32(out.count)
                    return inflate(stream, Z_NO_FLUSH)
                }
                output.append(contentsOf: chunk[0..<(chunk.count - Int(stream.pointee.avail_out))])
                if output.count > limit { return nil }
                if status == Z_STREAM_END { return output }
                guard status == Z_OK else { return nil }
            }
        }
    }
}

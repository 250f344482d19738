import CZlib

/// Why a compressed body could not be inflated.
enum InflateError: Error, Equatable {
    /// The inflated body would exceed the limit (checked while inflating: a gzip bomb stops here).
    case tooLarge(limit: Int)
    /// Not valid gzip (or zlib) data, or truncated.
    case corrupt
}

/// Inflates gzip request bodies with zlib, never holding more than `limit` output bytes.
enum GzipInflater {
    /// Inflates `input` (gzip or zlib framing, detected from the header).
    static func inflate(_ input: UnsafeRawBufferPointer, limit: Int) throws(InflateError) -> [UInt8] {
        var stream = z_stream()
        // 15 window bits + 32: accept both gzip and zlib headers.
        guard inflateInit2_(&stream, 15 + 32, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw .corrupt
        }
        defer { inflateEnd(&stream) }

        var output = [UInt8](repeating: 0, count: min(limit + 1, max(4096, input.count * 4)))
        var produced = 0
        stream.next_in = UnsafeMutablePointer(mutating: input.baseAddress?.assumingMemoryBound(to: Bytef.self))
        stream.avail_in = uInt(input.count)

        while true {
            if produced == output.count {
                // One byte of slack over the limit tells "exactly at the limit" from "over it".
                guard output.count <= limit else { throw .tooLarge(limit: limit) }
                output.append(contentsOf: repeatElement(0, count: min(output.count, limit + 1 - output.count)))
            }
            let status = output.withUnsafeMutableBufferPointer { buffer -> Int32 in
                stream.next_out = buffer.baseAddress! + produced
                stream.avail_out = uInt(buffer.count - produced)
                let status = CZlib.inflate(&stream, Z_NO_FLUSH)
                produced = buffer.count - Int(stream.avail_out)
                return status
            }
            if produced > limit { throw .tooLarge(limit: limit) }
            switch status {
            case Z_STREAM_END:
                // Concatenated gzip members are rare from SDKs; anything after the first member
                // is rejected rather than silently dropped.
                guard stream.avail_in == 0 else { throw .corrupt }
                output.removeSubrange(produced...)
                return output
            case Z_OK:
                continue
            case Z_BUF_ERROR where stream.avail_out == 0:
                continue
            default:
                // Z_BUF_ERROR with output room left means the input ended early.
                throw .corrupt
            }
        }
    }
}

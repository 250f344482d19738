import EventModel
import NIOCore
import Warehouse

/// Writes rows in Postgres's COPY text format: tab-separated, `\N` for NULL, one row per line,
/// with backslash, tab, newline and carriage return escaped. NUL characters (which Postgres text
/// cannot hold) are dropped. The common value/column pairs are written straight into the buffer,
/// without an intermediate `String`.
struct CopyTextEncoder {
    let columns: [(name: String, type: ColumnType)]
    private var scratch: [UInt8] = []

    init(columns: [(name: String, type: ColumnType)]) {
        self.columns = columns
        scratch.reserveCapacity(64)
    }

    /// Appends one row to `buffer`. Values that do not fit their column are written as NULL (the
    /// load plan already moved them to discards).
    mutating func append(_ row: WarehouseRow, to buffer: inout ByteBuffer) {
        var first = true
        for column in columns {
            if !first { buffer.writeInteger(UInt8(ascii: "\t")) }
            first = false
            guard let value = row.columns[column.name] else {
                buffer.writeStaticString("\\N")
                continue
            }
            switch (column.type, value) {
            case (.text, .text(let text)):
                Self.appendEscaped(text, to: &buffer)
            case (.bigint, .int(let number)), (.double, .int(let number)), (.text, .int(let number)):
                Self.appendDecimal(number, to: &buffer)
            case (.boolean, .bool(let flag)):
                buffer.writeInteger(flag ? UInt8(ascii: "t") : UInt8(ascii: "f"))
            case (.timestamp, .timestamp(let milliseconds)), (.text, .timestamp(let milliseconds)):
                scratch.removeAll(keepingCapacity: true)
                Timestamp(millisecondsSinceEpoch: milliseconds).format(into: &scratch)
                buffer.writeBytes(scratch)
            default:
                if let text = value.text(for: column.type) {
                    Self.appendEscaped(text, to: &buffer)
                } else {
                    buffer.writeStaticString("\\N")
                }
            }
        }
        buffer.writeInteger(UInt8(ascii: "\n"))
    }

    static func appendDecimal(_ value: Int64, to buffer: inout ByteBuffer) {
        if value == 0 {
            buffer.writeInteger(UInt8(ascii: "0"))
            return
        }
        var magnitude = value.magnitude
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 20) { digits in
            var count = 0
            while magnitude > 0 {
                digits[19 - count] = UInt8(ascii: "0") + UInt8(magnitude % 10)
                magnitude /= 10
                count += 1
            }
            if value < 0 { buffer.writeInteger(UInt8(ascii: "-")) }
            buffer.writeBytes(UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(digits)[(20 - count)...]))
        }
    }

    static func appendEscaped(_ text: String, to buffer: inout ByteBuffer) {
        var needsEscape = false
        for byte in text.utf8 where byte == 0x5C || byte < 0x20 {
            needsEscape = true
            break
        }
        guard needsEscape else {
            buffer.writeString(text)
            return
        }
        for byte in text.utf8 {
            switch byte {
            case 0x5C: buffer.writeStaticString("\\\\")
            case 0x09: buffer.writeStaticString("\\t")
            case 0x0A: buffer.writeStaticString("\\n")
            case 0x0D: buffer.writeStaticString("\\r")
            case 0x00: continue
            default: buffer.writeInteger(byte)
            }
        }
    }
}

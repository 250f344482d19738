import EventModel
import NIOCore
import Warehouse

/// Writes rows in Postgres's binary COPY format (the `PGCOPY` header, then per row a field count
/// and length-prefixed values, then a `-1` trailer): `bigint` and `double precision` as 8
/// big-endian bytes, `boolean` as one byte, `timestamptz` as microseconds since 2000-01-01 UTC,
/// `text` as its UTF-8 bytes.
///
/// Against the text format this spares the server parsing numbers and timestamps (about a third
/// of a COPY's server time for event rows) and the client formatting and escaping them.
/// NUL characters (which Postgres text cannot hold) are dropped, as in the text format.
struct CopyBinaryEncoder: Sendable {
    let columns: [(name: String, type: ColumnType)]

    init(columns: [(name: String, type: ColumnType)]) {
        self.columns = columns
    }

    /// Microseconds between the Unix epoch and Postgres's epoch (2000-01-01 UTC).
    static let postgresEpochMilliseconds: Int64 = 946_684_800_000

    /// The 19-byte header that starts the data of one COPY.
    static func writeHeader(to buffer: inout ByteBuffer) {
        buffer.writeBytes([0x50, 0x47, 0x43, 0x4F, 0x50, 0x59, 0x0A, 0xFF, 0x0D, 0x0A, 0x00] as [UInt8])  // PGCOPY\n\377\r\n\0
        buffer.writeInteger(Int32(0))  // flags: no OIDs
        buffer.writeInteger(Int32(0))  // header extension length
    }

    /// The trailer that ends the data of one COPY.
    static func writeTrailer(to buffer: inout ByteBuffer) {
        buffer.writeInteger(Int16(-1))
    }

    /// Appends one row. Values that do not fit their column are written as NULL (the load plan
    /// already moved them to discards).
    func append(_ row: WarehouseRow, to buffer: inout ByteBuffer) {
        buffer.writeInteger(Int16(truncatingIfNeeded: columns.count))
        for column in columns {
            guard let value = row.columns[column.name] else {
                buffer.writeInteger(Int32(-1))
                continue
            }
            Self.append(value, as: column.type, to: &buffer)
        }
    }

    static func append(_ value: WarehouseValue, as type: ColumnType, to buffer: inout ByteBuffer) {
        switch (type, value) {
        case (.text, .text(let text)):
            appendText(text, to: &buffer)
        case (.bigint, .int(let number)):
            buffer.writeInteger(Int32(8))
            buffer.writeInteger(number)
        case (.double, .int(let number)):
            buffer.writeInteger(Int32(8))
            buffer.writeInteger(Double(number).bitPattern)
        case (.double, .double(let number)):
            buffer.writeInteger(Int32(8))
            buffer.writeInteger(number.bitPattern)
        case (.boolean, .bool(let flag)):
            buffer.writeInteger(Int32(1))
            buffer.writeInteger(flag ? UInt8(1) : UInt8(0))
        case (.timestamp, .timestamp(let milliseconds)):
            appendTimestamp(milliseconds, to: &buffer)
        case (.text, .int(let number)):
            appendLengthPrefixed(to: &buffer) { CopyTextEncoder.appendDecimal(number, to: &$0) }
        case (.text, .timestamp(let milliseconds)):
            var scratch: [UInt8] = []
            scratch.reserveCapacity(27)
            Timestamp(millisecondsSinceEpoch: milliseconds).format(into: &scratch)
            buffer.writeInteger(Int32(scratch.count))
            buffer.writeBytes(scratch)
        case (.timestamp, .text(let text)):
            guard let time = Timestamp(parsing: text) else {
                buffer.writeInteger(Int32(-1))
                return
            }
            appendTimestamp(time.millisecondsSinceEpoch, to: &buffer)
        case (.bigint, .double(let number)) where type.accepts(value):
            buffer.writeInteger(Int32(8))
            buffer.writeInteger(Int64(number))
        case (.text, _):
            appendText(value.description, to: &buffer)
        default:
            buffer.writeInteger(Int32(-1))
        }
    }

    static func appendTimestamp(_ milliseconds: Int64, to buffer: inout ByteBuffer) {
        buffer.writeInteger(Int32(8))
        buffer.writeInteger((milliseconds &- postgresEpochMilliseconds) &* 1000)
    }

    /// Writes a length placeholder, the bytes `body` writes, then the length.
    static func appendLengthPrefixed(to buffer: inout ByteBuffer, _ body: (inout ByteBuffer) -> Void) {
        let lengthIndex = buffer.writerIndex
        buffer.writeInteger(Int32(0))
        body(&buffer)
        buffer.setInteger(Int32(buffer.writerIndex - lengthIndex - 4), at: lengthIndex)
    }

    static func appendText(_ text: String, to buffer: inout ByteBuffer) {
        var text = text
        let written: Int? = text.withUTF8 { bytes in
            guard bytes.firstIndex(of: 0) == nil else { return nil }
            buffer.writeInteger(Int32(bytes.count))
            buffer.writeBytes(UnsafeRawBufferPointer(bytes))
            return bytes.count
        }
        guard written == nil else { return }
        appendLengthPrefixed(to: &buffer) { buffer in
            for byte in text.utf8 where byte != 0 { buffer.writeInteger(byte) }
        }
    }
}

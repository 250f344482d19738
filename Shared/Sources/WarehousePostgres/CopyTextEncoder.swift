import NIOCore
import Warehouse

/// Writes rows in Postgres's COPY text format: tab-separated, `\N` for NULL, one row per line,
/// with backslash, tab, newline and carriage return escaped. NUL characters (which Postgres text
/// cannot hold) are dropped.
struct CopyTextEncoder {
    let columns: [(name: String, type: ColumnType)]

    /// Appends one row to `buffer`. Values that do not fit their column are written as NULL (the
    /// load plan already moved them to discards).
    func append(_ row: WarehouseRow, to buffer: inout ByteBuffer) {
        for (index, column) in columns.enumerated() {
            if index > 0 { buffer.writeInteger(UInt8(ascii: "\t")) }
            guard let value = row.columns[column.name], let text = value.text(for: column.type) else {
                buffer.writeStaticString("\\N")
                continue
            }
            Self.appendEscaped(text, to: &buffer)
        }
        buffer.writeInteger(UInt8(ascii: "\n"))
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

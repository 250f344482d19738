import Foundation
import EventModel
import Warehouse

/// The SQL Keel sends to Snowflake, built from a load plan. Every identifier is quoted and
/// upper-cased (Keel's names are `[a-z0-9_]`, so `order_completed` becomes `"ORDER_COMPLETED"`,
/// the same object an unquoted name would reach).
struct SnowflakeSQL {
    let database: String
    let schema: String

    static func identifier(_ name: String) -> String {
        "\"" + name.uppercased().replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    /// A string literal: Snowflake treats `\` as an escape inside single quotes.
    static func literal(_ text: String) -> String {
        "'" + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "'", with: "''") + "'"
    }

    func table(_ name: String) -> String {
        Self.identifier(database) + "." + Self.identifier(schema) + "." + Self.identifier(name)
    }

    static func sqlType(_ type: ColumnType) -> String {
        switch type {
        case .bigint: "NUMBER(38,0)"
        case .double: "FLOAT"
        case .boolean: "BOOLEAN"
        case .timestamp: "TIMESTAMP_TZ"
        case .text: "VARCHAR"
        }
    }

    /// `information_schema.columns.data_type` → Keel's type.
    static func columnType(_ dataType: String) -> ColumnType {
        switch dataType.uppercased() {
        case "NUMBER", "DECIMAL", "NUMERIC", "INT", "INTEGER", "BIGINT", "SMALLINT", "FIXED": .bigint
        case "FLOAT", "DOUBLE", "REAL", "DOUBLE PRECISION", "FLOAT4", "FLOAT8": .double
        case "BOOLEAN": .boolean
        case "TIMESTAMP_TZ", "TIMESTAMP_LTZ", "TIMESTAMP_NTZ", "TIMESTAMP", "DATE", "DATETIME": .timestamp
        default: .text
        }
    }

    var schemaQuery: String {
        "SELECT table_name, column_name, data_type FROM \(Self.identifier(database)).information_schema.columns WHERE table_schema = ?"
    }

    var createSchema: String { "CREATE SCHEMA IF NOT EXISTS \(Self.identifier(database)).\(Self.identifier(schema))" }

    func createTable(_ name: String, columns: [(name: String, type: ColumnType)]) -> String {
        let definitions = ["\(Self.identifier("id")) VARCHAR NOT NULL PRIMARY KEY"]
            + columns.filter { $0.name != "id" }.map { "\(Self.identifier($0.name)) \(Self.sqlType($0.type))" }
        return "CREATE TABLE IF NOT EXISTS \(table(name)) (\(definitions.joined(separator: ", ")))"
    }

    func addColumn(_ table: String, _ column: (name: String, type: ColumnType)) -> String {
        "ALTER TABLE \(self.table(table)) ADD COLUMN IF NOT EXISTS \(Self.identifier(column.name)) \(Self.sqlType(column.type))"
    }

    static func createStaging(_ name: String, columns: [(name: String, type: ColumnType)]) -> String {
        let definitions = columns.map { "\(identifier($0.name)) \(sqlType($0.type))" }.joined(separator: ", ")
        return "CREATE TEMPORARY TABLE \(identifier(name)) (\(definitions))"
    }

    /// `COPY INTO <staging> FROM <file> … FILE_FORMAT = (TYPE = JSON) MATCH_BY_COLUMN_NAME`.
    /// `source` is the FROM clause with its credentials (see ``SnowflakeWarehouseLoader``).
    static func copy(into staging: String, source: String) -> String {
        "COPY INTO \(identifier(staging)) FROM \(source) FILE_FORMAT = (TYPE = JSON) "
            + "MATCH_BY_COLUMN_NAME = CASE_INSENSITIVE ON_ERROR = ABORT_STATEMENT"
    }

    /// Merges a staging table into `target` on `id`: matched rows take the staged columns,
    /// new rows are inserted. For `users`, a row with a newer (or equal) `received_at` overwrites
    /// the columns it has and an older row only fills empty ones, as in Postgres.
    func merge(into target: String, from staging: String, columns names: [String]) -> String {
        let t = "t", s = "s"
        func col(_ alias: String, _ name: String) -> String { "\(alias).\(Self.identifier(name))" }
        let updated = names.filter { $0 != "id" }
        var sql = "MERGE INTO \(table(target)) \(t) USING \(Self.identifier(staging)) \(s) ON \(col(t, "id")) = \(col(s, "id"))"
        if !updated.isEmpty {
            let sets: [String]
            if target == "users" {
                let newer = "(\(col(t, "received_at")) IS NULL OR \(col(s, "received_at")) >= \(col(t, "received_at")))"
                sets = updated.map { name in
                    if name == "received_at" {
                        return "\(Self.identifier(name)) = COALESCE(GREATEST(\(col(t, name)), \(col(s, name))), \(col(t, name)), \(col(s, name)))"
                    }
                    return "\(Self.identifier(name)) = CASE WHEN \(newer) THEN COALESCE(\(col(s, name)), \(col(t, name))) "
                        + "ELSE COALESCE(\(col(t, name)), \(col(s, name))) END"
                }
            } else {
                sets = updated.map { "\(Self.identifier($0)) = \(col(s, $0))" }
            }
            sql += " WHEN MATCHED THEN UPDATE SET " + sets.joined(separator: ", ")
        }
        let list = names.map(Self.identifier).joined(separator: ", ")
        let values = names.map { col(s, $0) }.joined(separator: ", ")
        sql += " WHEN NOT MATCHED THEN INSERT (\(list)) VALUES (\(values))"
        return sql
    }

    static let discardColumns: [(name: String, type: ColumnType)] = [
        ("table_name", .text), ("column_name", .text), ("row_id", .text), ("value", .text), ("column_type", .text),
        ("reason", .text), ("received_at", .timestamp), ("uuid_ts", .timestamp),
    ]

    var createDiscards: String {
        let definitions = Self.discardColumns.map { "\(Self.identifier($0.name)) \(Self.sqlType($0.type))" }
        return "CREATE TABLE IF NOT EXISTS \(table("keel_discards")) (\(definitions.joined(separator: ", ")))"
    }

    /// Discards merge on (table_name, column_name, row_id): a replay does not duplicate them.
    func mergeDiscards(from staging: String) -> String {
        func col(_ alias: String, _ name: String) -> String { "\(alias).\(Self.identifier(name))" }
        let keys = ["table_name", "column_name", "row_id"]
        let on = keys.map { "\(col("t", $0)) = \(col("s", $0))" }.joined(separator: " AND ")
        let names = Self.discardColumns.map(\.name)
        let sets = names.dropFirst(3).map { "\(Self.identifier($0)) = \(col("s", $0))" }.joined(separator: ", ")
        let list = names.map(Self.identifier).joined(separator: ", ")
        let values = names.map { col("s", $0) }.joined(separator: ", ")
        return "MERGE INTO \(table("keel_discards")) t USING \(Self.identifier(staging)) s ON \(on) "
            + "WHEN MATCHED THEN UPDATE SET \(sets) WHEN NOT MATCHED THEN INSERT (\(list)) VALUES (\(values))"
    }

    /// One NDJSON line per row, values typed for their column (timestamps as RFC 3339 text).
    /// Values that do not fit their column are left out (the plan already moved them to discards).
    static func ndjson(_ rows: [WarehouseRow], columns: [(name: String, type: ColumnType)]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(rows.count * 256)
        for row in rows {
            var object = JSONObject()
            for column in columns {
                guard let value = row.columns[column.name] ?? (column.name == "id" ? .text(row.id) : nil),
                    let text = value.text(for: column.type)
                else { continue }
                switch column.type {
                case .bigint: object[column.name] = Int64(text).map(JSON.int) ?? .string(text)
                case .double: object[column.name] = Double(text).flatMap { $0.isFinite ? JSON.double($0) : nil } ?? .null
                case .boolean: object[column.name] = .bool(text == "true")
                case .timestamp, .text: object[column.name] = .string(text)
                }
            }
            JSON.object(object).serialize(into: &out)
            out.append(UInt8(ascii: "\n"))
        }
        return out
    }
}

import Logging
import NIOCore
import NIOPosix
import PostgresNIO
import Storage
import Synchronization
import Warehouse

/// Loads warehouse rows into a Postgres schema, one transaction per load.
///
/// Each load: takes a transaction-scoped advisory lock on the schema (loaders of the same schema
/// take turns), creates the schema and missing tables, adds new columns (`ALTER TABLE … ADD
/// COLUMN`), COPYs each table's rows into a temporary staging table and merges them into the
/// table on `id` (`INSERT … SELECT … ON CONFLICT (id) DO UPDATE`), and puts values that do not
/// fit their column into `keel_discards`. A replayed load therefore adds no row.
///
/// `users` rows keep the latest traits: a row with a newer (or equal) `received_at` overwrites
/// the columns it has; an older row only fills columns that are still empty.
///
/// The table layout is read from `information_schema` on the first load and cached; a failed load
/// forgets the cache so the next one reads it again.
public final class PostgresWarehouseLoader: WarehouseLoader {
    public let configuration: PostgresWarehouseConfiguration
    private let logger: Logger
    private let cache = Mutex<[String: TableSchema]?>(nil)

    public init(configuration: PostgresWarehouseConfiguration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
    }

    public func load(_ rows: [WarehouseRow]) async throws(WarehouseLoadError) -> LoadSummary {
        guard !rows.isEmpty else { return LoadSummary(tables: [], discards: 0) }
        do {
            return try await withConnection { connection in
                try await self.transaction(connection) { try await self.load(rows, on: connection) }
            }
        } catch {
            cache.withLock { $0 = nil }
            throw Self.loadError(error)
        }
    }

    /// The columns of every table in the schema, as the loader sees them (for tests and tools).
    public func currentSchema() async throws(WarehouseLoadError) -> [String: TableSchema] {
        do {
            return try await withConnection { connection in try await self.readSchema(connection) }
        } catch {
            throw Self.loadError(error)
        }
    }

    // MARK: Steps

    private func load(_ input: [WarehouseRow], on connection: PostgresConnection) async throws -> LoadSummary {
        let schema = configuration.schema
        let lockKey = SQLIdentifier.advisoryLockKey("keel.warehouse.\(schema)")
        try await connection.query("SELECT pg_advisory_xact_lock(\(lockKey))", logger: logger)
        try await execute("CREATE SCHEMA IF NOT EXISTS \(q(schema))", on: connection)
        // COPY takes a bare table name: resolve the schema's tables (temporary tables come first).
        try await execute("SET LOCAL search_path TO \(q(schema))", on: connection)

        let existing: [String: TableSchema]
        if let cached = cache.withLock({ $0 }) {
            existing = cached
        } else {
            existing = try await readSchema(connection)
        }
        // A table that does not exist yet starts with a text `id`, whatever the first id looks like.
        var byTable: [String: [WarehouseRow]] = [:]
        for row in input { byTable[row.table, default: []].append(row) }
        // Tables are planned concurrently (client CPU) and COPYed one after the other, the smallest
        // first; each COPY's data is encoded while it streams to the server.
        let order = byTable.map { (table: $0.key, count: $0.value.count) }
            .sorted { ($0.count, $0.table) < ($1.count, $1.table) }.map(\.table)
        var prepared: [String: Task<TableLoad, Never>] = [:]
        for (table, rows) in byTable {
            let schema = existing[table] ?? TableSchema(columns: ["id": .text])
            prepared[table] = Task { TableLoad(table: table, rows: rows, schema: schema) }
        }
        defer { for task in prepared.values { task.cancel() } }

        var summary: [LoadSummary.Table] = []
        var discards: [String: [Discard]] = [:]
        var schemas = existing
        for (stage, table) in order.enumerated() {
            let load = await prepared[table]!.value
            let columns = load.plan.newColumns[table] ?? []
            let isNew = existing[table] == nil
            if isNew {
                let definitions = ["\(q("id")) text PRIMARY KEY"]
                    + columns.filter { $0.name != "id" }.map { "\(q($0.name)) \(Self.sqlType($0.type))" }
                try await execute(
                    "CREATE TABLE IF NOT EXISTS \(q(schema)).\(q(table)) (\(definitions.joined(separator: ", ")))",
                    on: connection)
            } else if !columns.isEmpty {
                let additions = columns.map { "ADD COLUMN IF NOT EXISTS \(q($0.name)) \(Self.sqlType($0.type))" }
                try await execute("ALTER TABLE \(q(schema)).\(q(table)) \(additions.joined(separator: ", "))", on: connection)
            }
            try await merge(load, isNew: isNew, on: connection, stage: stage)
            summary.append(.init(
                name: table, rows: load.rows.count,
                addedColumns: isNew ? columns.count : columns.filter { $0.name != "id" }.count))
            discards[table] = load.plan.discards
            schemas[table] = load.plan.schemas[table]
        }
        let allDiscards = discards.keys.sorted().flatMap { discards[$0]! }
        if !allDiscards.isEmpty {
            try await writeDiscards(allDiscards, input: input, on: connection)
        }
        cache.withLock { $0 = schemas }
        return LoadSummary(tables: summary.sorted { $0.name < $1.name }, discards: allDiscards.count)
    }

    /// One table's share of a load, planned off the connection: its plan and the columns its rows
    /// carry. The COPY data is encoded while it is sent (``copy(_:columns:into:on:)``).
    struct TableLoad: Sendable {
        var table: String
        var plan: LoadPlan
        var rows: [WarehouseRow]
        var columns: [(name: String, type: ColumnType)]

        /// COPY data goes out in chunks of about this size: the server ingests one while the
        /// client encodes the next.
        static let chunkBytes = 256 * 1024

        init(table: String, rows input: [WarehouseRow], schema: TableSchema) {
            self.table = table
            plan = LoadPlan(rows: input, existing: [table: schema])
            rows = plan.rows[table] ?? []
            let names = plan.presentColumns[table] ?? []
            let full = plan.schemas[table]!.columns
            columns = [(name: "id", type: .text)]
                + names.filter { $0 != "id" }.map { (name: $0, type: full[$0] ?? .text) }
        }
    }

    /// Rows whose id is not in the table yet are COPYed straight into it; the others go through a
    /// staging table and one merge statement. (The advisory lock keeps other Keel loaders out
    /// between the check and the COPY; a foreign writer inserting meanwhile makes the COPY fail
    /// on the primary key, and the retried load merges.)
    ///
    /// Not done: COPY first and fall back on a unique violation (saves the id check). With
    /// postgres-nio 1.33 a COPY that fails mid-stream sometimes left the next COPY on the
    /// connection waiting forever for writability.
    private func merge(_ load: TableLoad, isNew: Bool, on connection: PostgresConnection, stage: Int) async throws {
        let table = load.table
        if isNew {
            try await copy(load.rows, columns: load.columns, into: table, on: connection)
            return
        }
        let rows = load.rows
        let columns = load.columns
        let target = "\(q(configuration.schema)).\(q(table))"
        var known = Set<String>()
        let result = try await connection.query(
            "SELECT id FROM \(unescaped: target) WHERE id = ANY(\(rows.map(\.id)))", logger: logger)
        for try await id in result.decode(String.self) { known.insert(id) }
        if known.isEmpty {
            try await copy(rows, columns: columns, into: table, on: connection)
            return
        }
        let fresh = rows.filter { !known.contains($0.id) }
        if !fresh.isEmpty {
            try await copy(fresh, columns: columns, into: table, on: connection)
        }
        let existingRows = rows.filter { known.contains($0.id) }
        let staging = "keel_stage_\(stage)"
        let definitions = columns.map { "\(q($0.name)) \(Self.sqlType($0.type))" }.joined(separator: ", ")
        try await execute("CREATE TEMPORARY TABLE \(q(staging)) (\(definitions)) ON COMMIT DROP", on: connection)
        try await copy(existingRows, columns: columns, into: staging, on: connection)

        let names = columns.map(\.name)
        let list = names.map(q).joined(separator: ", ")
        let updated = names.filter { $0 != "id" }
        let conflict: String
        if updated.isEmpty {
            conflict = "DO NOTHING"
        } else if table == "users" {
            // Newer (or same-time) rows win for the columns they carry; older rows only fill gaps.
            let newer = "(t.\(q("received_at")) IS NULL OR EXCLUDED.\(q("received_at")) >= t.\(q("received_at")))"
            let sets = updated.map { column -> String in
                if column == "received_at" {
                    return "\(q(column)) = GREATEST(t.\(q(column)), EXCLUDED.\(q(column)))"
                }
                return "\(q(column)) = CASE WHEN \(newer) THEN COALESCE(EXCLUDED.\(q(column)), t.\(q(column))) "
                    + "ELSE COALESCE(t.\(q(column)), EXCLUDED.\(q(column))) END"
            }
            conflict = "DO UPDATE SET " + sets.joined(separator: ", ")
        } else {
            conflict = "DO UPDATE SET " + updated.map { "\(q($0)) = EXCLUDED.\(q($0))" }.joined(separator: ", ")
        }
        try await execute(
            "INSERT INTO \(target) AS t (\(list)) SELECT \(list) FROM \(q(staging)) ON CONFLICT (\(q("id"))) \(conflict)",
            on: connection)
    }

    /// COPYs `rows` into `table` in binary format (``CopyBinaryEncoder``), or in text format when a
    /// name cannot go into the binary COPY statement. Rows are encoded a chunk at a time while the
    /// previous chunk is on its way, so the server ingests while the client encodes.
    private func copy(
        _ rows: [WarehouseRow], columns: [(name: String, type: ColumnType)], into table: String,
        on connection: PostgresConnection
    ) async throws {
        let names = columns.map(\.name)
        guard let target = Self.binaryCopyTarget(table: table, columns: names) else {
            var encoder = CopyTextEncoder(columns: columns)
            try await connection.copyFrom(table: table, columns: names, logger: logger) { writer in
                try await Self.stream(rows, append: { encoder.append($0, to: &$1) }, write: { try await writer.write($0) })
            }
            return
        }
        let encoder = CopyBinaryEncoder(columns: columns)
        try await connection.copyFrom(table: target, logger: logger) { writer in
            try await Self.stream(
                rows, header: CopyBinaryEncoder.writeHeader, append: encoder.append, trailer: CopyBinaryEncoder.writeTrailer,
                write: { try await writer.write($0) })
        }
    }

    /// Encodes `rows` (between `header` and `trailer`) into buffers of about
    /// ``TableLoad/chunkBytes`` and hands each to `write` as soon as it is full.
    private static func stream(
        _ rows: [WarehouseRow], header: (inout ByteBuffer) -> Void = { _ in },
        append: (WarehouseRow, inout ByteBuffer) -> Void, trailer: (inout ByteBuffer) -> Void = { _ in },
        write: (ByteBuffer) async throws -> Void
    ) async throws {
        let chunkBytes = TableLoad.chunkBytes
        func newBuffer() -> ByteBuffer { ByteBufferAllocator().buffer(capacity: chunkBytes + 64 * 1024) }
        var buffer = newBuffer()
        header(&buffer)
        for row in rows {
            append(row, &buffer)
            if buffer.readableBytes >= chunkBytes {
                try await write(buffer)
                buffer = newBuffer()
            }
        }
        trailer(&buffer)
        if buffer.readableBytes > 0 { try await write(buffer) }
    }

    /// postgres-nio 1.33's `copyFrom` writes `COPY "<table>" FROM STDIN WITH (FORMAT text)` and
    /// has no binary option. It splices the table name between the quotes as given, so the name
    /// returned here closes the quote, lists the columns, asks for the binary format and turns the
    /// library's own options into a comment. Only plain `[a-z0-9_]` names (what ``WarehouseNaming``
    /// makes, and Keel's staging tables) are spliced; for anything else this returns nil and the
    /// rows go in text format.
    static func binaryCopyTarget(table: String, columns: [String]) -> String? {
        for name in [table] + columns {
            let plain = !name.isEmpty && name.utf8.allSatisfy { byte in
                (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
                    || byte == UInt8(ascii: "_")
            }
            guard plain else { return nil }
        }
        let list = columns.map { "\"\($0)\"" }.joined(separator: ",")
        return "\(table)\" (\(list)) FROM STDIN WITH (FORMAT binary) --"
    }

    private func writeDiscards(_ discards: [Discard], input: [WarehouseRow], on connection: PostgresConnection) async throws {
        let schema = configuration.schema
        try await execute(
            """
            CREATE TABLE IF NOT EXISTS \(q(schema)).\(q("keel_discards")) (
                table_name text NOT NULL, column_name text NOT NULL, row_id text NOT NULL, value text,
                column_type text, reason text, received_at timestamptz, uuid_ts timestamptz,
                PRIMARY KEY (table_name, column_name, row_id))
            """, on: connection)
        var receivedAt: [String: WarehouseValue] = [:]  // "table\u{0}id" → received_at
        var loadedAt: WarehouseValue?
        for row in input {
            if let value = row.columns["received_at"] { receivedAt[row.table + "\u{0}" + row.id] = value }
            if loadedAt == nil { loadedAt = row.columns["uuid_ts"] }
        }
        // One row per (table, column, row id): the last discard of the load wins.
        var unique: [String: Int] = [:]
        var rows: [WarehouseRow] = []
        for discard in discards {
            var columns: [String: WarehouseValue] = [
                "table_name": .text(discard.table), "column_name": .text(discard.column), "row_id": .text(discard.rowId),
                "value": .text(discard.value), "column_type": .text(discard.columnType.rawValue),
                "reason": .text(discard.reason),
            ]
            columns["received_at"] = receivedAt[discard.table + "\u{0}" + discard.rowId]
            columns["uuid_ts"] = loadedAt
            let key = discard.table + "\u{0}" + discard.column + "\u{0}" + discard.rowId
            let row = WarehouseRow(table: "keel_discards", id: key, columns: columns)
            if let index = unique[key] { rows[index] = row } else {
                unique[key] = rows.count
                rows.append(row)
            }
        }
        let columns: [(name: String, type: ColumnType)] = [
            ("table_name", .text), ("column_name", .text), ("row_id", .text), ("value", .text), ("column_type", .text),
            ("reason", .text), ("received_at", .timestamp), ("uuid_ts", .timestamp),
        ]
        let definitions = columns.map { "\(q($0.name)) \(Self.sqlType($0.type))" }.joined(separator: ", ")
        try await execute("CREATE TEMPORARY TABLE keel_stage_discards (\(definitions)) ON COMMIT DROP", on: connection)
        try await copy(rows, columns: columns, into: "keel_stage_discards", on: connection)
        let list = columns.map { q($0.name) }.joined(separator: ", ")
        let updates = columns.dropFirst(3).map { "\(q($0.name)) = EXCLUDED.\(q($0.name))" }.joined(separator: ", ")
        try await execute(
            "INSERT INTO \(q(schema)).\(q("keel_discards")) (\(list)) SELECT \(list) FROM keel_stage_discards "
                + "ON CONFLICT (table_name, column_name, row_id) DO UPDATE SET \(updates)",
            on: connection)
    }

    private func readSchema(_ connection: PostgresConnection) async throws -> [String: TableSchema] {
        let rows = try await connection.query(
            "SELECT table_name, column_name, data_type FROM information_schema.columns WHERE table_schema = \(configuration.schema)",
            logger: logger)
        var schemas: [String: TableSchema] = [:]
        for try await (table, column, dataType) in rows.decode((String, String, String).self) {
            schemas[table, default: TableSchema()].columns[column] = Self.columnType(dataType)
        }
        return schemas
    }

    // MARK: Plumbing

    private func execute(_ sql: String, on connection: PostgresConnection) async throws {
        try await connection.query(PostgresQuery(unsafeSQL: sql), logger: logger)
    }

    private func transaction<Result>(
        _ connection: PostgresConnection, _ body: () async throws -> Result
    ) async throws -> Result {
        try await connection.query("BEGIN", logger: logger)
        do {
            let result = try await body()
            try await connection.query("COMMIT", logger: logger)
            return result
        } catch {
            _ = try? await connection.query("ROLLBACK", logger: logger)
            throw error
        }
    }

    private func withConnection<Result: Sendable>(_ body: (PostgresConnection) async throws -> Result) async throws -> Result {
        let server = configuration.server
        let tls: PostgresConnection.Configuration.TLS
        switch server.tls {
        case .disable: tls = .disable
        case .prefer: tls = .prefer(try .init(configuration: .makeClientConfiguration()))
        case .require: tls = .require(try .init(configuration: .makeClientConfiguration()))
        }
        var connectionConfiguration = PostgresConnection.Configuration(
            host: server.host, port: server.port, username: server.username, password: server.password,
            database: server.database, tls: tls)
        connectionConfiguration.options.connectTimeout = .seconds(Int64(server.connectTimeout.components.seconds))
        let connection = try await PostgresConnection.connect(
            on: MultiThreadedEventLoopGroup.singleton.next(), configuration: connectionConfiguration, id: 1, logger: logger
        ).get()
        do {
            let result = try await body(connection)
            try? await connection.close()
            return result
        } catch {
            try? await connection.close()
            throw error
        }
    }

    private func q(_ name: String) -> String { SQLIdentifier.quoted(name) }

    static func sqlType(_ type: ColumnType) -> String {
        switch type {
        case .bigint: "bigint"
        case .double: "double precision"
        case .boolean: "boolean"
        case .timestamp: "timestamptz"
        case .text: "text"
        }
    }

    static func columnType(_ dataType: String) -> ColumnType {
        switch dataType {
        case "bigint", "integer", "smallint": .bigint
        case "double precision", "real", "numeric": .double
        case "boolean": .boolean
        case "timestamp with time zone", "timestamp without time zone", "date": .timestamp
        default: .text
        }
    }

    /// A message without row values or credentials: the server's SQLSTATE, table and column.
    static func loadError(_ error: any Error) -> WarehouseLoadError {
        if let error = error as? WarehouseLoadError { return error }
        guard let error = error as? PSQLError else {
            return WarehouseLoadError(.unavailable, "\(type(of: error))")
        }
        if let info = error.serverInfo, let state = info[.sqlState] {
            var parts = ["sqlstate \(state)"]
            if let table = info[.tableName] { parts.append("table \(table)") }
            if let column = info[.columnName] { parts.append("column \(column)") }
            let code: WarehouseLoadError.Code =
                state.hasPrefix("28") ? .authentication
                : state.hasPrefix("08") || state.hasPrefix("53") || state.hasPrefix("57") || state == "40001" || state == "40P01"
                ? .unavailable : .statement
            return WarehouseLoadError(code, parts.joined(separator: ", "))
        }
        return WarehouseLoadError(.unavailable, "connection: \(error.code)")
    }
}

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
    /// Bytes of COPY data sent to the server per write.
    private let copyChunkBytes = 1 << 20

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
        var seeded = existing
        for row in input where seeded[row.table] == nil { seeded[row.table] = TableSchema(columns: ["id": .text]) }
        let plan = await Self.plan(input, existing: seeded)

        var summary: [LoadSummary.Table] = []
        for table in plan.rows.keys.sorted() {
            let columns = plan.newColumns[table] ?? []
            if existing[table] == nil {
                let definitions = ["\(q("id")) text PRIMARY KEY"]
                    + columns.filter { $0.name != "id" }.map { "\(q($0.name)) \(Self.sqlType($0.type))" }
                try await execute(
                    "CREATE TABLE IF NOT EXISTS \(q(schema)).\(q(table)) (\(definitions.joined(separator: ", ")))",
                    on: connection)
            } else if !columns.isEmpty {
                let additions = columns.map { "ADD COLUMN IF NOT EXISTS \(q($0.name)) \(Self.sqlType($0.type))" }
                try await execute("ALTER TABLE \(q(schema)).\(q(table)) \(additions.joined(separator: ", "))", on: connection)
            }
            let rows = plan.rows[table] ?? []
            try await merge(
                rows, into: table, isNew: existing[table] == nil, schema: plan.schemas[table]!, on: connection,
                stage: summary.count)
            summary.append(.init(name: table, rows: rows.count, addedColumns: existing[table] == nil ? columns.count : columns.filter { $0.name != "id" }.count))
        }
        if !plan.discards.isEmpty {
            try await writeDiscards(plan.discards, input: input, on: connection)
        }
        cache.withLock { $0 = plan.schemas }
        return LoadSummary(tables: summary, discards: plan.discards.count)
    }

    /// Rows whose id is not in the table yet are COPYed straight into it; the others go through a
    /// staging table and one merge statement. (The advisory lock keeps other Keel loaders out
    /// between the check and the COPY; a foreign writer inserting meanwhile makes the COPY fail
    /// on the primary key, and the retried load merges.)
    private func merge(
        _ rows: [WarehouseRow], into table: String, isNew: Bool, schema: TableSchema, on connection: PostgresConnection,
        stage: Int
    ) async throws {
        var present = Set<String>()
        for row in rows { for column in row.columns.keys { present.insert(column) } }
        present.insert("id")
        let names = ["id"] + present.subtracting(["id"]).sorted()
        let columns = names.map { (name: $0, type: $0 == "id" ? ColumnType.text : schema.columns[$0] ?? .text) }

        var known = Set<String>()
        if !isNew {
            let ids = rows.map(\.id)
            let target = "\(q(configuration.schema)).\(q(table))"
            let result = try await connection.query("SELECT id FROM \(unescaped: target) WHERE id = ANY(\(ids))", logger: logger)
            for try await id in result.decode(String.self) { known.insert(id) }
        }
        if known.isEmpty {
            try await copy(rows, columns: columns, into: table, on: connection)
            return
        }
        let fresh = rows.filter { !known.contains($0.id) }
        if !fresh.isEmpty { try await copy(fresh, columns: columns, into: table, on: connection) }
        let existingRows = rows.filter { known.contains($0.id) }
        let staging = "keel_stage_\(stage)"
        let definitions = columns.map { "\(q($0.name)) \(Self.sqlType($0.type))" }.joined(separator: ", ")
        try await execute("CREATE TEMPORARY TABLE \(q(staging)) (\(definitions)) ON COMMIT DROP", on: connection)
        try await copy(existingRows, columns: columns, into: staging, on: connection)

        let target = "\(q(configuration.schema)).\(q(table))"
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

    private func copy(
        _ rows: [WarehouseRow], columns: [(name: String, type: ColumnType)], into table: String,
        on connection: PostgresConnection
    ) async throws {
        var encoder = CopyTextEncoder(columns: columns)
        let chunk = copyChunkBytes
        try await connection.copyFrom(table: table, columns: columns.map(\.name), logger: logger) { writer in
            var buffer = ByteBufferAllocator().buffer(capacity: chunk + 4096)
            for row in rows {
                encoder.append(row, to: &buffer)
                if buffer.readableBytes >= chunk {
                    try await writer.write(buffer)
                    buffer.clear()
                }
            }
            if buffer.readableBytes > 0 { try await writer.write(buffer) }
        }
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

    /// `LoadPlan` per table, the tables planned concurrently (tables are planned independently;
    /// this is client CPU the server waits for). Discards come out in table order.
    static func plan(_ input: [WarehouseRow], existing: [String: TableSchema]) async -> LoadPlan.Merged {
        var byTable: [String: [WarehouseRow]] = [:]
        for row in input { byTable[row.table, default: []].append(row) }
        if byTable.count == 1 { return LoadPlan.Merged([LoadPlan(rows: input, existing: existing)], existing: existing) }
        let plans = await withTaskGroup(of: (String, LoadPlan).self) { group in
            for (table, rows) in byTable {
                let schema = existing[table].map { [table: $0] } ?? [:]
                group.addTask { (table, LoadPlan(rows: rows, existing: schema)) }
            }
            var plans: [(String, LoadPlan)] = []
            for await plan in group { plans.append(plan) }
            return plans.sorted { $0.0 < $1.0 }.map(\.1)
        }
        return LoadPlan.Merged(plans, existing: existing)
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

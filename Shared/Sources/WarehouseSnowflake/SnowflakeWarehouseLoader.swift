import AsyncHTTPClient
import EventModel
import Logging
import ObjectStorage
import Synchronization
import Warehouse

/// Loads warehouse rows into a Snowflake schema through the SQL API and an S3 stage, with the
/// table layout and merge semantics of ``Warehouse`` (the same as the Postgres loader).
///
/// Each load:
/// 1. reads the schema's columns from `information_schema.columns` (first load, or after a
///    failure; then cached), and plans the load (`LoadPlan`: new columns, one row per id, discards);
/// 2. uploads one NDJSON file per table (and one of discards) to
///    `s3://<bucket>/<prefix>/<yyyy-mm-dd>/<epoch-ms>.<uuid>/<table>.json` (the flattened rows, not
///    the raw events: COPY then maps JSON keys to columns by name);
/// 3. runs the DDL in one multi-statement request: `CREATE SCHEMA/TABLE IF NOT EXISTS`,
///    `ALTER TABLE … ADD COLUMN IF NOT EXISTS`, `KEEL_DISCARDS`. DDL commits implicitly in
///    Snowflake, so it cannot sit inside the load's transaction; every statement is idempotent;
/// 4. runs the data in a second multi-statement request (one session): a temporary staging table
///    per table, then `BEGIN`, per table `COPY INTO` staging and `MERGE INTO` target on `id`, the
///    discards the same way, `COMMIT`. A failing statement stops the request before `COMMIT`,
///    so nothing of the load is committed; the batch-router retries the whole load.
///
/// A replayed load merges onto the same ids and adds no row. Multi-statement requests take no
/// bind variables, so the COPY source (and, with `.credentials`, the AWS keys) are literals in the
/// statement text; the text is never logged and errors are redacted.
public final class SnowflakeWarehouseLoader: WarehouseLoader {
    public let configuration: SnowflakeConfiguration
    let client: SnowflakeSQLClient
    let store: any ObjectStore
    let sql: SnowflakeSQL
    private let logger: Logger
    private let cache = Mutex<[String: TableSchema]?>(nil)

    /// A loader uploading with `S3Client` and querying through `SnowflakeSQLClient`.
    public convenience init(configuration: SnowflakeConfiguration, httpClient: HTTPClient, logger: Logger) throws(WarehouseLoadError) {
        let client: SnowflakeSQLClient
        let store: S3Client
        do {
            client = try SnowflakeSQLClient(configuration: configuration, httpClient: httpClient, logger: logger)
        } catch {
            throw WarehouseLoadError(.configuration, error.description)
        }
        do {
            store = try S3Client(configuration: configuration.s3, httpClient: httpClient)
        } catch {
            throw WarehouseLoadError(.configuration, error.description)
        }
        self.init(client: client, store: store, logger: logger)
    }

    /// A loader with its own client and store (tests use shorter poll intervals).
    public init(client: SnowflakeSQLClient, store: any ObjectStore, logger: Logger) {
        self.configuration = client.configuration
        self.client = client
        self.store = store
        self.sql = SnowflakeSQL(database: client.configuration.database, schema: client.configuration.schema)
        self.logger = logger
    }

    public func load(_ rows: [WarehouseRow]) async throws(WarehouseLoadError) -> LoadSummary {
        guard !rows.isEmpty else { return LoadSummary(tables: [], discards: 0) }
        do {
            return try await loadRows(rows)
        } catch {
            cache.withLock { $0 = nil }
            throw error
        }
    }

    /// The columns of every table in the schema, read from `information_schema` (for tests and tools).
    public func currentSchema() async throws(WarehouseLoadError) -> [String: TableSchema] {
        do {
            let result = try await client.query(sql.schemaQuery, bindings: [.text(configuration.schema)])
            var schemas: [String: TableSchema] = [:]
            for row in result.rows where row.count >= 3 {
                guard let table = row[0], let column = row[1], let type = row[2] else { continue }
                schemas[table.lowercased(), default: TableSchema()].columns[column.lowercased()] = SnowflakeSQL.columnType(type)
            }
            return schemas
        } catch {
            throw Self.loadError(error, step: "read schema")
        }
    }

    // MARK: Steps

    private func loadRows(_ input: [WarehouseRow]) async throws(WarehouseLoadError) -> LoadSummary {
        let existing: [String: TableSchema]
        if let cached = cache.withLock({ $0 }) { existing = cached } else { existing = try await currentSchema() }
        var seeded = existing
        for row in input where seeded[row.table] == nil { seeded[row.table] = TableSchema(columns: ["id": .text]) }
        let plan = LoadPlan(rows: input, existing: seeded)
        let tables = plan.rows.keys.sorted()

        // 1. Files.
        let loadedAt = input.lazy.compactMap { row -> Int64? in
            if case .timestamp(let ms)? = row.columns["uuid_ts"] { return ms } else { return nil }
        }.first ?? Int64(clock_milliseconds())
        let directory = Self.directory(prefix: configuration.prefix, loadedAt: loadedAt)
        var staged: [(table: String, columns: [(name: String, type: ColumnType)], key: String, rows: Int)] = []
        for table in tables {
            let rows = plan.rows[table] ?? []
            var present = Set<String>()
            for row in rows { present.formUnion(row.columns.keys) }
            let names = ["id"] + present.subtracting(["id"]).sorted()
            let columns = names.map { (name: $0, type: $0 == "id" ? ColumnType.text : plan.schemas[table]?.columns[$0] ?? .text) }
            let key = "\(directory)/\(table).json"
            try await upload(SnowflakeSQL.ndjson(rows, columns: columns), key: key)
            staged.append((table, columns, key, rows.count))
        }
        var discardsKey: String?
        if !plan.discards.isEmpty {
            let key = "\(directory)/keel_discards.json"
            try await upload(SnowflakeSQL.ndjson(Self.discardRows(plan.discards, input: input), columns: SnowflakeSQL.discardColumns), key: key)
            discardsKey = key
        }

        // 2. DDL (idempotent, outside the transaction: DDL commits implicitly in Snowflake).
        var ddl: [String] = []
        for table in tables {
            let columns = plan.newColumns[table] ?? []
            if existing[table] == nil {
                ddl.append(sql.createTable(table, columns: columns))
            } else {
                ddl += columns.map { sql.addColumn(table, $0) }
            }
        }
        if discardsKey != nil, existing["keel_discards"] == nil { ddl.append(sql.createDiscards) }
        if !ddl.isEmpty {
            if existing.isEmpty { ddl.insert(sql.createSchema, at: 0) }
            try await run(ddl, step: "create tables and columns")
        }

        // 3. Data, in one session and one transaction.
        var statements: [String] = []
        for (index, entry) in staged.enumerated() {
            statements.append(SnowflakeSQL.createStaging("keel_stage_\(index)", columns: entry.columns))
        }
        if discardsKey != nil { statements.append(SnowflakeSQL.createStaging("keel_stage_discards", columns: SnowflakeSQL.discardColumns)) }
        statements.append("BEGIN TRANSACTION")
        for (index, entry) in staged.enumerated() {
            statements.append(SnowflakeSQL.copy(into: "keel_stage_\(index)", source: source(entry.key)))
            statements.append(sql.merge(into: entry.table, from: "keel_stage_\(index)", columns: entry.columns.map(\.name)))
        }
        if let discardsKey {
            statements.append(SnowflakeSQL.copy(into: "keel_stage_discards", source: source(discardsKey)))
            statements.append(sql.mergeDiscards(from: "keel_stage_discards"))
        }
        statements.append("COMMIT")
        try await run(statements, step: "copy and merge")

        cache.withLock { $0 = plan.schemas }
        let summary = staged.map { entry in
            let added = plan.newColumns[entry.table] ?? []
            return LoadSummary.Table(
                name: entry.table, rows: entry.rows,
                addedColumns: existing[entry.table] == nil ? added.count : added.filter { $0.name != "id" }.count)
        }
        logger.debug(
            "loaded rows into snowflake",
            metadata: ["location": "\(configuration.location)", "tables": "\(summary.count)", "discards": "\(plan.discards.count)"])
        return LoadSummary(tables: summary, discards: plan.discards.count)
    }

    /// The FROM clause of a COPY for a staged file, with how Snowflake may read it.
    func source(_ key: String) -> String {
        switch configuration.stageAccess {
        case .namedStage(let stage):
            return "@\(stage)/\(key)"
        case .storageIntegration(let integration):
            return "\(SnowflakeSQL.literal("s3://\(configuration.s3.bucket)/\(key)")) STORAGE_INTEGRATION = \(integration)"
        case .credentials:
            var credentials = "AWS_KEY_ID = \(SnowflakeSQL.literal(configuration.s3.accessKeyId)) "
                + "AWS_SECRET_KEY = \(SnowflakeSQL.literal(configuration.s3.secretAccessKey))"
            if let token = configuration.s3.sessionToken { credentials += " AWS_TOKEN = \(SnowflakeSQL.literal(token))" }
            return "\(SnowflakeSQL.literal("s3://\(configuration.s3.bucket)/\(key)")) CREDENTIALS = (\(credentials))"
        }
    }

    private func run(_ statements: [String], step: String) async throws(WarehouseLoadError) {
        do {
            if statements.count == 1 {
                _ = try await client.query(statements[0])
            } else {
                _ = try await client.execute(statements.joined(separator: ";\n"), statementCount: statements.count)
            }
        } catch {
            throw Self.loadError(error, step: step)
        }
    }

    private func upload(_ body: [UInt8], key: String) async throws(WarehouseLoadError) {
        do {
            try await store.put(key: key, body: body, contentType: "application/x-ndjson")
        } catch {
            let code: WarehouseLoadError.Code =
                error.isRetryable ? .unavailable : error.code == .accessDenied ? .authentication : .configuration
            throw WarehouseLoadError(code, "stage upload: \(error.description)")
        }
    }

    /// `<prefix>/<yyyy-mm-dd>/<epoch-ms>.<uuid>`.
    static func directory(prefix: String, loadedAt: Int64) -> String {
        let day = String(Timestamp(millisecondsSinceEpoch: loadedAt).rfc3339.prefix(10))
        let name = "\(day)/\(loadedAt).\(MessageID.random())"
        return prefix.isEmpty ? name : "\(prefix)/\(name)"
    }

    /// One row per (table, column, row id), the last discard of the load winning.
    static func discardRows(_ discards: [Discard], input: [WarehouseRow]) -> [WarehouseRow] {
        var receivedAt: [String: WarehouseValue] = [:]
        var loadedAt: WarehouseValue?
        for row in input {
            if let value = row.columns["received_at"] { receivedAt[row.table + "\u{0}" + row.id] = value }
            if loadedAt == nil { loadedAt = row.columns["uuid_ts"] }
        }
        var index: [String: Int] = [:]
        var rows: [WarehouseRow] = []
        for discard in discards {
            var columns: [String: WarehouseValue] = [
                "table_name": .text(discard.table), "column_name": .text(discard.column), "row_id": .text(discard.rowId),
                "value": .text(discard.value), "column_type": .text(discard.columnType.rawValue), "reason": .text(discard.reason),
            ]
            columns["received_at"] = receivedAt[discard.table + "\u{0}" + discard.rowId]
            columns["uuid_ts"] = loadedAt
            let key = discard.table + "\u{0}" + discard.column + "\u{0}" + discard.rowId
            let row = WarehouseRow(table: "keel_discards", id: key, columns: columns)
            if let position = index[key] { rows[position] = row } else {
                index[key] = rows.count
                rows.append(row)
            }
        }
        return rows
    }

    static func loadError(_ error: SnowflakeError, step: String) -> WarehouseLoadError {
        let code: WarehouseLoadError.Code
        switch error.code {
        case .authentication: code = .authentication
        case .unavailable, .timeout: code = .unavailable
        case .configuration: code = .configuration
        default: code = .statement
        }
        return WarehouseLoadError(code, "\(step): \(error.description)")
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

func clock_milliseconds() -> Int {
    var now = timespec()
    clock_gettime(CLOCK_REALTIME, &now)
    return now.tv_sec * 1000 + now.tv_nsec / 1_000_000
}

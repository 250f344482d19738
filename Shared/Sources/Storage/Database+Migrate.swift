import Foundation
import Logging
import PostgresNIO

extension Database {
    /// Brings `schema` up to date: creates it and `<schema>.schema_migrations` when missing, then applies
    /// every migration whose version is not recorded yet, in ascending order, each in its own transaction.
    ///
    /// Safe when several replicas start at once: the whole run holds `pg_advisory_lock` on a key derived
    /// from the schema name, so one process migrates while the others wait and then find nothing to do.
    ///
    /// - Returns: the versions this call applied (empty when the schema was already current).
    @discardableResult
    public func migrate(schema: String, migrations: [Migration], logger: Logger) async throws -> [Int] {
        try Self.checkMigrations(migrations, schema: schema)
        let lockKey = SQLIdentifier.advisoryLockKey("keel.migrate:" + schema)
        var logger = logger
        logger[metadataKey: "schema"] = "\(schema)"

        return try await withConnection { connection in
            try await connection.query("SELECT pg_advisory_lock(\(lockKey))", logger: logger)
            do {
                let applied = try await Self.applyMissing(
                    schema: schema, migrations: migrations, connection: connection, logger: logger)
                try await connection.query("SELECT pg_advisory_unlock(\(lockKey))", logger: logger)
                return applied
            } catch {
                // Release even on failure: the connection goes back to the pool and must not keep the lock.
                _ = try? await connection.query("SELECT pg_advisory_unlock(\(lockKey))", logger: logger)
                throw error
            }
        }
    }

    private static func checkMigrations(_ migrations: [Migration], schema: String) throws {
        var seen = Set<Int>()
        for migration in migrations {
            guard migration.version > 0 else {
                throw StorageError(.invalidMigrations, "migration versions must be positive (schema \(schema))")
            }
            guard seen.insert(migration.version).inserted else {
                throw StorageError(
                    .invalidMigrations, "migration version \(migration.version) appears twice (schema \(schema))")
            }
        }
    }

    private static func applyMissing(
        schema: String, migrations: [Migration], connection: PostgresConnection, logger: Logger
    ) async throws -> [Int] {
        let quotedSchema = SQLIdentifier.quoted(schema)
        try await connection.query(PostgresQuery(unsafeSQL: "CREATE SCHEMA IF NOT EXISTS \(quotedSchema)"), logger: logger)
        try await connection.query(
            PostgresQuery(
                unsafeSQL: """
                    CREATE TABLE IF NOT EXISTS \(quotedSchema).schema_migrations (
                        version integer PRIMARY KEY,
                        name text NOT NULL,
                        applied_at timestamptz NOT NULL DEFAULT now()
                    )
                    """),
            logger: logger)

        var done = Set<Int>()
        let rows = try await connection.query(
            PostgresQuery(unsafeSQL: "SELECT version FROM \(quotedSchema).schema_migrations"), logger: logger)
        for try await version in rows.decode(Int.self) {
            done.insert(version)
        }

        var applied: [Int] = []
        for migration in migrations.sorted(by: { $0.version < $1.version }) where !done.contains(migration.version) {
            do {
                try await connection.withTransaction(logger: logger) { connection in
                    try await connection.query(
                        PostgresQuery(unsafeSQL: "SET LOCAL search_path TO \(quotedSchema), public"), logger: logger)
                    try await connection.query(Self.multiStatement(migration.sql), logger: logger)
                    try await connection.query(
                        """
                        INSERT INTO \(unescaped: quotedSchema).schema_migrations (version, name)
                        VALUES (\(migration.version), \(migration.name))
                        """,
                        logger: logger)
                }
            } catch {
                throw StorageError(
                    .migrationFailed,
                    "migration \(schema) v\(migration.version) (\(migration.name)) failed: \(Self.serverMessage(error))")
            }
            logger.info("applied migration", metadata: ["version": "\(migration.version)", "name": "\(migration.name)"])
            applied.append(migration.version)
        }
        return applied
    }

    /// postgres-nio speaks only the extended protocol, which refuses several statements in one query.
    /// PL/pgSQL's `EXECUTE` accepts them, so the SQL runs inside an anonymous `DO` block, quoted with a
    /// dollar tag that does not occur in the SQL.
    static func multiStatement(_ sql: String) -> PostgresQuery {
        var tag = "keel_sql"
        while sql.contains("$" + tag + "$") || sql.contains("$" + tag + "_do$") {
            tag += "_x"
        }
        let outer = "$" + tag + "_do$"
        let inner = "$" + tag + "$"
        return PostgresQuery(unsafeSQL: "DO \(outer) BEGIN EXECUTE \(inner)\(sql)\(inner); END \(outer)")
    }

    /// The server's message for a failed statement (schema SQL, no bound values), else a generic text.
    static func serverMessage(_ error: any Error) -> String {
        if let transaction = error as? PostgresTransactionError, let inner = transaction.closureError {
            return serverMessage(inner)
        }
        if let psql = error as? PSQLError {
            if let message = psql.serverInfo?[.message] { return message }
            return "\(psql.code)"
        }
        return "\(type(of: error))"
    }
}

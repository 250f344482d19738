import ArgumentParser
import PostgresNIO
import Storage

/// `keel uploads list`: the batch-router's upload and load history (schema `batch_router`,
/// table `uploads`; docs/batch-router.md).
struct UploadsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "uploads",
        abstract: "Show files the batch-router uploaded and warehouse loads it ran.",
        subcommands: [List.self]
    )

    /// `keel uploads list [--destination D] [--status S]`: newest first.
    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List uploads and loads, newest first.")

        @Option(help: "Only this destination id.")
        var destination: String?
        @Option(help: "Only this status: uploaded, loaded or failed.")
        var status: String?
        @Option(help: "At most this many rows.")
        var limit = 50
        @OptionGroup var database: DatabaseOptions

        func validate() throws {
            if let status, !["uploaded", "loaded", "failed"].contains(status) {
                throw ValidationError("--status must be uploaded, loaded or failed")
            }
            guard limit > 0 else { throw ValidationError("--limit must be positive") }
        }

        mutating func run() async throws {
            let destination = self.destination
            let status = self.status
            let limit = self.limit
            let rows: [[String]]? = try await database.withDatabase { database, logger in
                let exists = try await database.client.query(
                    "SELECT to_regclass('batch_router.uploads') IS NOT NULL", logger: logger)
                for try await present in exists.decode(Bool.self) where !present { return nil }
                let result = try await database.client.query(
                    """
                    SELECT to_char(updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'), destination_id,
                        destination_type, coalesce(source_id, '-'), status, row_count, bytes, discards, attempts,
                        coalesce(object_key, location, '-'), coalesce(error, '')
                    FROM batch_router.uploads
                    WHERE (\(destination)::text IS NULL OR destination_id = \(destination))
                      AND (\(status)::text IS NULL OR status = \(status))
                    ORDER BY updated_at DESC, id
                    LIMIT \(limit)
                    """, logger: logger)
                var rows: [[String]] = []
                for try await (time, id, type, source, status, count, bytes, discards, attempts, target, error) in result.decode(
                    (String, String, String, String, String, Int64, Int64, Int64, Int32, String, String).self)
                {
                    rows.append([time, id, type, source, status, "\(count)", "\(bytes)", "\(discards)", "\(attempts)", target, error])
                }
                return rows
            }
            guard let rows else {
                print("no uploads yet (the batch-router has not run against this database)")
                return
            }
            print("updated_at\tdestination\ttype\tsource\tstatus\trows\tbytes\tdiscards\tattempts\tobject\terror")
            for row in rows { print(row.joined(separator: "\t")) }
        }
    }
}

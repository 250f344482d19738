import Logging
import PostgresNIO
import Storage

/// Writes the upload and load history to `batch_router.uploads` and `batch_router.load_jobs`.
///
/// History is bookkeeping, not the side effect: when it cannot be written the flush still counts
/// (the files and rows are durable) and a warning is logged.
struct UploadHistory: Sendable {
    let database: Database
    let logger: Logger

    /// Statuses in `uploads.status`.
    enum Status: String {
        case uploaded, loaded, failed
    }

    func recordSuccess(_ job: FlushJob, destination: BatchDestination, outcome: FlushOutcome) async {
        await record(destination: destination.id) { connection in
            for file in outcome.files {
                try await upsert(
                    connection, id: "\(job.id)/\(file.sourceId)/\(file.partition.partition)", job: job, destination: destination, sourceId: file.sourceId,
                    key: file.key, location: file.location, rows: file.rows, bytes: file.bytes, discards: 0,
                    status: .uploaded, error: nil)
            }
            if let load = outcome.load {
                let sources = Set(job.rows.map(\.sourceId))
                try await upsert(
                    connection, id: job.id, job: job, destination: destination,
                    sourceId: sources.count == 1 ? sources.first : nil, key: nil, location: outcome.location,
                    rows: load.rows, bytes: job.rows.reduce(0) { $0 + $1.size }, discards: load.discards,
                    status: .loaded, error: nil)
                for table in load.tables {
                    try await connection.query(
                        """
                        INSERT INTO batch_router.load_jobs (upload_id, table_name, row_count, added_columns, status)
                        VALUES (\(job.id), \(table.name), \(table.rows), \(table.addedColumns), 'loaded')
                        ON CONFLICT (upload_id, table_name) DO UPDATE SET row_count = EXCLUDED.row_count,
                            added_columns = EXCLUDED.added_columns, status = EXCLUDED.status, created_at = now()
                        """, logger: logger)
                }
            }
        }
    }

    /// `error` must be safe to show (object storage and warehouse errors are).
    func recordFailure(_ job: FlushJob, destination: BatchDestination, error: String) async {
        await record(destination: destination.id) { connection in
            let bytes = job.rows.reduce(0) { $0 + $1.size }
            if destination.isWarehouse {
                try await upsert(
                    connection, id: job.id, job: job, destination: destination, sourceId: nil, key: nil, location: nil,
                    rows: job.rows.count, bytes: bytes, discards: 0, status: .failed, error: error)
            } else {
                var counts: [String: Int] = [:]
                for row in job.rows { counts[row.sourceId, default: 0] += 1 }
                for (sourceId, rows) in counts.sorted(by: { $0.key < $1.key }) {
                    try await upsert(
                        connection, id: "\(job.id)/\(sourceId)", job: job, destination: destination, sourceId: sourceId,
                        key: nil, location: nil, rows: rows, bytes: 0, discards: 0, status: .failed, error: error)
                }
            }
        }
    }

    private func record(destination: String, _ body: (PostgresConnection) async throws -> Void) async {
        do {
            try await database.withTransaction(logger: logger) { connection in try await body(connection) }
        } catch {
            logger.warning(
                "upload history not written",
                metadata: ["destination": "\(destination)", "error": "\(String(reflecting: type(of: error)))"])
        }
    }

    private func upsert(
        _ connection: PostgresConnection, id: String, job: FlushJob, destination: BatchDestination, sourceId: String?,
        key: String?, location: String?, rows: Int, bytes: Int, discards: Int, status: Status, error: String?
    ) async throws {
        try await connection.query(
            """
            INSERT INTO batch_router.uploads
                (id, job_id, destination_id, destination_type, source_id, object_key, location, row_count, bytes,
                 discards, status, error, attempts)
            VALUES (\(id), \(job.id), \(destination.id), \(destination.type), \(sourceId), \(key), \(location), \(rows),
                \(bytes), \(discards), \(status.rawValue), \(error), \(job.attempt))
            ON CONFLICT (id) DO UPDATE SET object_key = COALESCE(EXCLUDED.object_key, uploads.object_key),
                location = COALESCE(EXCLUDED.location, uploads.location), row_count = EXCLUDED.row_count,
                bytes = EXCLUDED.bytes, discards = EXCLUDED.discards, status = EXCLUDED.status, error = EXCLUDED.error,
                attempts = EXCLUDED.attempts, updated_at = now()
            """, logger: logger)
    }
}

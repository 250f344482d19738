import EventModel
import Logging
import PostgresNIO
import Storage

/// `processor.errors`: events that failed a stage, with stage, destination, reason and payload.
public struct ErrorStore: Sendable {
    public let database: Database
    /// Payloads larger than this (serialised) are not stored; the reason says so.
    public let maxPayloadBytes: Int

    public init(database: Database, maxPayloadBytes: Int) {
        self.database = database
        self.maxPayloadBytes = maxPayloadBytes
    }

    /// Inserts `errors` in one statement on `connection`.
    public func insert(_ errors: [ProcessingError], on connection: PostgresConnection, logger: Logger) async throws {
        guard !errors.isEmpty else { return }
        var workspaces: [String] = [], sources: [String] = [], destinations: [String] = [], messageIds: [String] = []
        var stages: [String] = [], reasons: [String] = [], payloads: [String] = []
        for error in errors {
            workspaces.append(error.workspaceId)
            sources.append(error.sourceId)
            destinations.append(error.destinationId ?? "")
            messageIds.append(error.messageId ?? "")
            stages.append(error.stage.rawValue)
            var reason = error.reason
            var payload = error.payload.map { String(decoding: $0.serialized(), as: UTF8.self) } ?? ""
            if payload.utf8.count > maxPayloadBytes {
                reason += " (payload of \(payload.utf8.count) bytes not stored)"
                payload = ""
            }
            reasons.append(reason)
            payloads.append(payload)
        }
        try await connection.query(
            """
            INSERT INTO processor.errors (workspace_id, source_id, destination_id, message_id, stage, reason, payload)
            SELECT w, s, NULLIF(d, ''), NULLIF(m, ''), st, r, NULLIF(p, '')::jsonb
            FROM unnest(\(workspaces)::text[], \(sources)::text[], \(destinations)::text[], \(messageIds)::text[],
                        \(stages)::text[], \(reasons)::text[], \(payloads)::text[]) AS e(w, s, d, m, st, r, p)
            """,
            logger: logger)
    }

    /// Deletes errors recorded before `retention` ago. Returns the number deleted.
    @discardableResult
    public func prune(retention: Duration, logger: Logger) async throws -> Int {
        let seconds = Double(retention.components.seconds)
        let rows = try await database.client.query(
            "DELETE FROM processor.errors WHERE created_at < now() - make_interval(secs => \(seconds)) RETURNING 1",
            logger: logger)
        var deleted = 0
        for try await _ in rows.decode(Int32.self) { deleted += 1 }
        return deleted
    }
}

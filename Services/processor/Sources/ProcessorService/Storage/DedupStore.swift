import Logging
import PostgresNIO
import Storage

/// The deduplication window in `processor.dedup`: `(partition, message_id, seen_at)`.
///
/// Keyed by Kafka partition, so the state follows a partition to whichever replica owns it after
/// a rebalance, and survives restarts. Ids are marked only after the batch's output is
/// acknowledged by Kafka (see ``BatchProcessor``), so a crash before that replays the events
/// instead of dropping them as duplicates.
public struct DedupStore: Sendable {
    /// One event's dedup key.
    public struct Key: Hashable, Sendable {
        public var partition: Int32
        public var messageId: String

        public init(partition: Int32, messageId: String) {
            self.partition = partition
            self.messageId = messageId
        }
    }

    public let database: Database
    public let window: Duration

    public init(database: Database, window: Duration) {
        self.database = database
        self.window = window
    }

    private var windowSeconds: Double { Double(window.components.seconds) + Double(window.components.attoseconds) / 1e18 }

    /// The keys among `keys` marked within the window (one query).
    ///
    /// One primary-key probe per key (the `LATERAL … LIMIT 1`): a plain join lets the planner
    /// hash the whole table instead, which costs a scan of every mark in the window per batch.
    public func seen(_ keys: [Key], logger: Logger) async throws -> Set<Key> {
        guard !keys.isEmpty else { return [] }
        let rows = try await database.client.query(lookupQuery(keys), logger: logger)
        var found = Set<Key>()
        for try await (partition, messageId) in rows.decode((Int32, String).self) {
            found.insert(Key(partition: partition, messageId: messageId))
        }
        return found
    }

    /// The query of ``seen(_:logger:)`` (tests read its plan).
    func lookupQuery(_ keys: [Key]) -> PostgresQuery {
        let partitions = keys.map(\.partition)
        let ids = keys.map(\.messageId)
        return """
            SELECT k.partition, k.message_id
            FROM unnest(\(partitions)::int4[], \(ids)::text[]) AS k(partition, message_id)
            CROSS JOIN LATERAL (
                SELECT 1 FROM processor.dedup d
                WHERE d.partition = k.partition AND d.message_id = k.message_id
                  AND d.seen_at > now() - make_interval(secs => \(windowSeconds))
                LIMIT 1
            ) AS found
            """
    }

    /// Marks `keys` seen now (one statement on `connection`). Keys must be distinct.
    public func mark(_ keys: [Key], on connection: PostgresConnection, logger: Logger) async throws {
        guard !keys.isEmpty else { return }
        let partitions = keys.map(\.partition)
        let ids = keys.map(\.messageId)
        try await connection.query(
            """
            INSERT INTO processor.dedup (partition, message_id, seen_at)
            SELECT k.partition, k.message_id, now()
            FROM unnest(\(partitions)::int4[], \(ids)::text[]) AS k(partition, message_id)
            ON CONFLICT (partition, message_id) DO UPDATE SET seen_at = EXCLUDED.seen_at
            """,
            logger: logger)
    }

    /// Deletes marks older than the window, `limit` rows per statement so no statement holds
    /// locks for long. Returns the number deleted.
    @discardableResult
    public func prune(limit: Int = 50_000, logger: Logger) async throws -> Int {
        var total = 0
        while true {
            let rows = try await database.client.query(
                """
                WITH old AS (
                    SELECT ctid FROM processor.dedup
                    WHERE seen_at < now() - make_interval(secs => \(windowSeconds))
                    LIMIT \(limit)
                )
                DELETE FROM processor.dedup WHERE ctid IN (SELECT ctid FROM old) RETURNING 1
                """,
                logger: logger)
            var deleted = 0
            for try await _ in rows.decode(Int32.self) { deleted += 1 }
            total += deleted
            if deleted < limit { return total }
        }
    }
}

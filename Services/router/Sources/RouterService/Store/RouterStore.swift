import EventModel
import Logging
import PostgresNIO
import Storage

/// The router's tables in schema `router`: parked jobs (blocked keys' backlog, and replays waiting to
/// be sent) and failed events.
///
/// Parked rows are read back per key in `seq` order, which is the order they were written in. A
/// replay moves failed rows into `parked` with `origin = 'replay'`; the running router notices them
/// (``newReplayRows(after:)``) and sends them through the normal ordered path.
public struct RouterStore: Sendable {
    public static let schema = "router"

    public static let migrations: [Migration] = [
        Migration(
            version: 1,
            name: "parked and failed jobs",
            sql: """
                CREATE TABLE parked (
                    seq bigserial PRIMARY KEY,
                    destination_id text NOT NULL,
                    user_key text NOT NULL,
                    topic text NOT NULL,
                    partition integer NOT NULL,
                    origin text NOT NULL DEFAULT 'park',
                    job text NOT NULL,
                    parked_at timestamptz NOT NULL DEFAULT now()
                );
                CREATE INDEX parked_by_key ON parked (destination_id, user_key, seq);
                CREATE INDEX parked_replays ON parked (seq) WHERE origin = 'replay';
                CREATE TABLE failed (
                    id bigserial PRIMARY KEY,
                    workspace_id text NOT NULL,
                    source_id text NOT NULL,
                    destination_id text NOT NULL,
                    destination_type text NOT NULL,
                    user_key text NOT NULL,
                    message_id text NOT NULL,
                    event_type text NOT NULL,
                    event_name text,
                    status_code integer,
                    error_kind text NOT NULL,
                    reason text NOT NULL,
                    response_excerpt text,
                    attempts integer NOT NULL,
                    first_attempt_at timestamptz,
                    failed_at timestamptz NOT NULL DEFAULT now(),
                    topic text NOT NULL,
                    partition integer NOT NULL,
                    job text NOT NULL,
                    replayed_at timestamptz,
                    replay_count integer NOT NULL DEFAULT 0
                );
                CREATE INDEX failed_by_destination ON failed (destination_id, failed_at);
                CREATE INDEX failed_by_time ON failed (failed_at);
                """
        ),
        Migration(
            version: 2,
            name: "parked rows keep their Kafka offset",
            sql: "ALTER TABLE parked ADD COLUMN kafka_offset bigint"
        ),
    ]

    public let database: Database
    public let logger: Logger
    /// Encrypts the job column of new rows (`KEEL_STORED_JOB_KEYS`); nil stores jobs as they are.
    public let sealer: JobSealer?

    public init(database: Database, sealer: JobSealer? = nil, logger: Logger) {
        self.database = database
        self.sealer = sealer
        self.logger = logger
    }

    /// The job column's text for `job`: sealed when a sealer is configured.
    func storedText(_ job: [UInt8]) -> String {
        sealer?.seal(job) ?? String(decoding: job, as: UTF8.self)
    }

    /// A job column's bytes: opened when sealed.
    func jobBytes(_ text: String) throws(JobSealerError) -> [UInt8] {
        try JobSealer.open(text, keys: sealer?.keys ?? [])
    }

    public func migrate() async throws {
        _ = try await database.migrate(schema: Self.schema, migrations: Self.migrations, logger: logger)
    }

    // MARK: Parking

    /// Appends jobs to the parked table in the given order, in one statement.
    public func park(_ jobs: [ScheduledJob]) async throws {
        guard !jobs.isEmpty else { return }
        var destinations: [String] = []
        var users: [String] = []
        var topics: [String] = []
        var partitions: [Int32] = []
        var offsets: [Int64] = []
        var bodies: [String] = []
        for job in jobs {
            destinations.append(job.job.destinationId)
            users.append(job.job.userKey)
            let (topic, partition) = job.origin.partitionOrEmpty
            topics.append(topic)
            partitions.append(partition)
            if case .kafka(_, let offset) = job.origin { offsets.append(offset) } else { offsets.append(-1) }
            bodies.append(storedText(job.job.raw))
        }
        try await database.client.query(
            """
            INSERT INTO router.parked (destination_id, user_key, topic, partition, kafka_offset, job)
            SELECT d, u, tp, p, NULLIF(o, -1), j
            FROM unnest(\(destinations)::text[], \(users)::text[], \(topics)::text[], \(partitions)::int4[], \(offsets)::int8[], \(bodies)::text[])
                WITH ORDINALITY AS t(d, u, tp, p, o, j, n) ORDER BY n
            """,
            logger: logger
        )
    }

    /// Up to `limit` parked jobs of a key after `afterSeq`, in order, and how many rows were moved
    /// to failed events instead because they cannot be read: sealed with a key that is not
    /// configured, or no longer a delivery job (a row is parsed when it is parked, so only a change
    /// of the job format can cause that). A moved row keeps its job text, so a replay sends it once
    /// it can be read. Empty only when no row is left after `afterSeq`.
    public func loadParked(_ key: DeliveryKey, afterSeq: Int64, limit: Int) async throws -> (rows: [ParkedRow], dropped: Int) {
        var after = afterSeq
        var dropped = 0
        while true {
            let rows = try await database.client.query(
                """
                SELECT seq, job, topic, partition FROM router.parked
                WHERE destination_id = \(key.destinationId) AND user_key = \(key.userKey) AND seq > \(after)
                ORDER BY seq LIMIT \(limit)
                """,
                logger: logger
            )
            var result: [ParkedRow] = []
            var unreadable: [(seq: Int64, reason: String)] = []
            for try await (seq, text, topic, partition) in rows.decode((Int64, String, String, Int32).self) {
                after = seq
                do {
                    let bytes = try jobBytes(text)
                    guard let job = try? DeliveryJob(parsing: bytes, key: Array(key.description.utf8)) else {
                        unreadable.append((seq, "invalid delivery job: the parked row is not a delivery job"))
                        continue
                    }
                    result.append(ParkedRow(seq: seq, job: job, partition: PartitionRef(topic: topic, partition: partition)))
                } catch {
                    unreadable.append((seq, error.description))
                }
            }
            for row in unreadable {
                logger.error("parked row cannot be read; moved to failed events", metadata: ["seq": "\(row.seq)", "reason": "\(row.reason)"])
                try await moveToFailed(seq: row.seq, reason: row.reason)
            }
            dropped += unreadable.count
            if !result.isEmpty || unreadable.isEmpty { return (result, dropped) }
        }
    }

    /// Moves a parked row that cannot be sent to failed events (kind `invalidJob`), job text kept.
    private func moveToFailed(seq: Int64, reason: String) async throws {
        try await database.withTransaction(logger: logger) { connection in
            try await connection.query(
                """
                INSERT INTO router.failed (workspace_id, source_id, destination_id, destination_type, user_key, message_id,
                    event_type, error_kind, reason, attempts, topic, partition, job)
                SELECT '', '', destination_id, '', user_key, '', '', 'invalidJob', \(reason), 0, topic, partition, job
                FROM router.parked WHERE seq = \(seq)
                """,
                logger: logger
            )
            try await connection.query("DELETE FROM router.parked WHERE seq = \(seq)", logger: logger)
        }
    }

    public func deleteParked(seqs: [Int64]) async throws {
        guard !seqs.isEmpty else { return }
        try await database.client.query("DELETE FROM router.parked WHERE seq = ANY(\(seqs)::int8[])", logger: logger)
    }

    /// Parked rows per key with their deliver topic, for seeding the scheduler when partitions are
    /// assigned, and the highest seq seen. A row's topic is its own or, for rows written before
    /// replays of parked jobs kept it, `deliverTopicPrefix` (e.g. `keel.deliver.`) and the job's
    /// `destinationType` (empty when neither is known).
    public func parkedCounts(deliverTopicPrefix: String) async throws -> (counts: [ParkedKeyCount], maxSeq: Int64) {
        try await keyCounts(replaysAfter: nil, deliverTopicPrefix: deliverTopicPrefix)
    }

    /// Replay rows inserted after `seq`, counted per key, and the highest seq among them.
    public func newReplayRows(after seq: Int64, deliverTopicPrefix: String) async throws -> (counts: [ParkedKeyCount], maxSeq: Int64) {
        try await keyCounts(replaysAfter: seq, deliverTopicPrefix: deliverTopicPrefix)
    }

    private func keyCounts(replaysAfter: Int64?, deliverTopicPrefix: String) async throws -> (counts: [ParkedKeyCount], maxSeq: Int64) {
        let rows = try await database.client.query(
            """
            SELECT destination_id, user_key,
                COALESCE(NULLIF(topic, ''), \(deliverTopicPrefix) || substring(job from '"destinationType":"([^"]+)"'), ''),
                count(*)::int8, max(seq),
                min(partition) FILTER (WHERE kafka_offset IS NOT NULL), min(kafka_offset), max(kafka_offset)
            FROM router.parked WHERE \(replaysAfter == nil) OR (origin = 'replay' AND seq > \(replaysAfter ?? 0))
            GROUP BY 1, 2, 3
            """,
            logger: logger
        )
        var counts: [ParkedKeyCount] = []
        var maxSeq = replaysAfter ?? 0
        for try await (destination, user, topic, count, top, partition, first, last)
            in rows.decode((String, String, String, Int64, Int64, Int32?, Int64?, Int64?).self)
        {
            var keyCount = ParkedKeyCount(key: DeliveryKey(destinationId: destination, userKey: user), topic: topic, count: Int(count))
            if let partition, let first, let last {
                keyCount.parkedOffsets = ParkedOffsets(partition: PartitionRef(topic: topic, partition: partition), first: first, last: last)
            }
            counts.append(keyCount)
            maxSeq = max(maxSeq, top)
        }
        return (counts, maxSeq)
    }

    // MARK: Failed events

    /// Records a final failure; a job loaded from `parked` leaves that table in the same transaction.
    public func recordFailure(_ job: ScheduledJob, _ failure: DeliveryFailure, firstAttemptMillis: Int64?) async throws {
        let j = job.job
        let (topic, partition) = job.origin.partitionOrEmpty
        let firstAttempt = firstAttemptMillis.map { Double($0) / 1000 }
        let statusCode = failure.statusCode.map(Int32.init)
        let body = storedText(j.raw)
        try await database.withTransaction(logger: logger) { connection in
            try await connection.query(
                """
                INSERT INTO router.failed (workspace_id, source_id, destination_id, destination_type, user_key, message_id,
                    event_type, event_name, status_code, error_kind, reason, response_excerpt, attempts, first_attempt_at,
                    topic, partition, job)
                VALUES (\(j.workspaceId), \(j.sourceId), \(j.destinationId), \(j.destinationType), \(j.userKey), \(j.messageId),
                    \(j.eventType), \(j.eventName), \(statusCode), \(failure.kind.rawValue), \(failure.reason),
                    \(failure.responseExcerpt), \(Int32(job.attempts)), to_timestamp(\(firstAttempt)), \(topic), \(partition), \(body))
                """,
                logger: logger
            )
            if case .parked(let seq, _) = job.origin {
                try await connection.query("DELETE FROM router.parked WHERE seq = \(seq)", logger: logger)
            }
        }
    }
}

/// Parked rows of one key, and the deliver topic its jobs come from.
public struct ParkedKeyCount: Sendable, Equatable {
    public var key: DeliveryKey
    public var topic: String
    public var count: Int
    /// Where the key's rows parked from Kafka were read (none for replays).
    public var parkedOffsets: ParkedOffsets?

    public init(key: DeliveryKey, topic: String, count: Int, parkedOffsets: ParkedOffsets? = nil) {
        self.key = key
        self.topic = topic
        self.count = count
        self.parkedOffsets = parkedOffsets
    }
}

/// The Kafka offsets of a key's parked rows on one partition: the first and the last. A key parks
/// every job after its first parked one until its rows are drained, so the key's jobs between
/// `first` and `last` on the partition are exactly these rows.
public struct ParkedOffsets: Sendable, Equatable {
    public var partition: PartitionRef
    public var first: Int64
    public var last: Int64

    public init(partition: PartitionRef, first: Int64, last: Int64) {
        self.partition = partition
        self.first = first
        self.last = last
    }
}

/// A Postgres error as a log value: the SQLSTATE code only (server messages may quote values).
func safeErrorDescription(_ error: any Error) -> String {
    if let error = error as? PSQLError {
        return "PSQLError(code: \(error.code), sqlState: \(error.serverInfo?[.sqlState] ?? "-"))"
    }
    return "\(error)"
}

extension JobOrigin {
    var partitionOrEmpty: (String, Int32) {
        switch self {
        case .kafka(let partition, _): (partition.topic, partition.partition)
        case .parked(_, let partition): (partition.topic, partition.partition)
        }
    }
}

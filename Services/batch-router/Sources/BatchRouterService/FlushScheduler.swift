import EventModel
import Foundation
import KafkaTransport

/// One event waiting in a destination's buffer.
public struct PendingRow: Sendable {
    public var partition: TopicPartition
    public var offset: Int64
    public var sourceId: String
    public var event: JSON
    /// Size of the message it came in, for the byte cap.
    public var size: Int

    public init(partition: TopicPartition, offset: Int64, sourceId: String, event: JSON, size: Int) {
        self.partition = partition
        self.offset = offset
        self.sourceId = sourceId
        self.event = event
        self.size = size
    }
}

/// A flush to run: the rows of one destination, taken out of its buffer.
public struct FlushJob: Sendable {
    /// Stable over the retries of the same rows: upload history and object keys use it, so a
    /// retried upload overwrites its earlier attempt instead of adding a file.
    public var id: String
    public var destinationId: String
    public var rows: [PendingRow]
    /// 1 for the first attempt.
    public var attempt: Int
    /// When the first attempt was made (names the files).
    public var createdAt: Date

    public init(id: String, destinationId: String, rows: [PendingRow], attempt: Int = 1, createdAt: Date) {
        self.id = id
        self.destinationId = destinationId
        self.rows = rows
        self.attempt = attempt
        self.createdAt = createdAt
    }

    /// The offsets this job makes durable, per partition.
    public var offsets: [TopicPartition: [Int64]] {
        var offsets: [TopicPartition: [Int64]] = [:]
        for row in rows { offsets[row.partition, default: []].append(row.offset) }
        return offsets
    }
}

/// Per-destination buffers and when to flush them: the batch-router's state machine. Pure: the
/// service calls it under a lock and does the I/O the returned jobs describe.
///
/// - A destination flushes when its oldest row has waited its `uploadInterval`, or at once when
///   its buffer reaches the row or byte cap.
/// - One flush per destination at a time. Meanwhile rows keep buffering, up to `overflowFactor`
///   × the caps; ``isOverfull`` then tells the consumer to stop reading until it drains.
/// - A failed flush puts its rows back in front of the buffer and waits (exponential backoff with
///   jitter) before the next attempt; other destinations are not affected.
/// - Offsets are settled in ``offsets`` only when a flush succeeds.
public struct FlushScheduler: Sendable {
    struct Buffer: Sendable {
        var rows: [PendingRow] = []
        var bytes = 0
        var interval: Duration
        var oldest: ContinuousClock.Instant?
        var inFlight = false
        var retryAt: ContinuousClock.Instant?
        /// The failed job whose rows are back in the buffer, if any: its id and attempts carry over.
        var failed: (id: String, attempts: Int, createdAt: Date)?
    }

    public struct Limits: Sendable {
        public var maxRows: Int
        public var maxBytes: Int
        public var overflowFactor: Int
        public var retryDelay: Duration
        public var maxRetryDelay: Duration

        public init(maxRows: Int, maxBytes: Int, overflowFactor: Int = 2, retryDelay: Duration, maxRetryDelay: Duration) {
            self.maxRows = maxRows
            self.maxBytes = maxBytes
            self.overflowFactor = max(1, overflowFactor)
            self.retryDelay = retryDelay
            self.maxRetryDelay = maxRetryDelay
        }
    }

    public let limits: Limits
    public private(set) var offsets = OffsetBook()
    private var buffers: [String: Buffer] = [:]
    private var makeID: @Sendable () -> String
    private var jitter: @Sendable () -> Double

    public init(
        limits: Limits, makeID: @escaping @Sendable () -> String = { UUID().uuidString.lowercased() },
        jitter: @escaping @Sendable () -> Double = { Double.random(in: 0.8...1.2) }
    ) {
        self.limits = limits
        self.makeID = makeID
        self.jitter = jitter
    }

    /// Buffers a row; returns a job when the buffer reached a cap and may flush now.
    public mutating func add(
        _ row: PendingRow, destinationId: String, interval: Duration, now: ContinuousClock.Instant, wallClock: Date
    ) -> FlushJob? {
        offsets.consumed(row.partition, offset: row.offset, durable: false)
        var buffer = buffers[destinationId] ?? Buffer(interval: interval)
        buffer.interval = interval
        if buffer.rows.isEmpty { buffer.oldest = now }
        buffer.rows.append(row)
        buffer.bytes += row.size
        buffers[destinationId] = buffer
        guard reachedCap(buffer), canStart(buffer, now: now) else { return nil }
        return start(destinationId, wallClock: wallClock)
    }

    /// Commit positions that moved since the last call (after skips).
    public mutating func takeAdvancedOffsets() -> [TopicPartition: Int64] { offsets.takeAdvanced() }

    /// Records a consumed message that needs no flush (unknown destination, unreadable message).
    public mutating func skip(_ partition: TopicPartition, offset: Int64) {
        offsets.consumed(partition, offset: offset, durable: true)
    }

    /// Jobs whose interval has passed (or that reached a cap while another flush ran).
    public mutating func due(now: ContinuousClock.Instant, wallClock: Date) -> [FlushJob] {
        var jobs: [FlushJob] = []
        for (id, buffer) in buffers.sorted(by: { $0.key < $1.key }) where !buffer.rows.isEmpty && canStart(buffer, now: now) {
            let waited = buffer.oldest.map { now - $0 >= buffer.interval } ?? false
            if waited || reachedCap(buffer) || buffer.failed != nil {
                jobs.append(start(id, wallClock: wallClock))
            }
        }
        return jobs
    }

    /// Every buffered row of every idle destination, now (shutdown, tests).
    public mutating func flushAll(now: ContinuousClock.Instant, wallClock: Date) -> [FlushJob] {
        buffers.keys.sorted().compactMap { id in
            let buffer = buffers[id]!
            return !buffer.rows.isEmpty && !buffer.inFlight ? start(id, wallClock: wallClock) : nil
        }
    }

    /// A job's rows are durable: settles their offsets; returns the commit positions that moved.
    public mutating func succeeded(_ job: FlushJob) -> [TopicPartition: Int64] {
        buffers[job.destinationId]?.inFlight = false
        offsets.settled(job.offsets)
        return offsets.takeAdvanced()
    }

    /// A job failed: its rows go back in front of the buffer and wait for the next attempt.
    /// Returns the delay before it.
    @discardableResult
    public mutating func failed(_ job: FlushJob, now: ContinuousClock.Instant) -> Duration {
        guard var buffer = buffers[job.destinationId] else { return .zero }
        buffer.inFlight = false
        // Rows of partitions revoked meanwhile belong to their next owner now.
        let rows = job.rows.filter { offsets.position($0.partition) != nil }
        buffer.rows = rows + buffer.rows
        buffer.bytes += rows.reduce(0) { $0 + $1.size }
        buffer.oldest = buffer.oldest.map { min($0, now) } ?? now
        let exponent = min(job.attempt - 1, 20)
        let base = limits.retryDelay * (1 << exponent)
        let delay = min(base, limits.maxRetryDelay) * jitter()
        buffer.retryAt = now + delay
        buffer.failed = (job.id, job.attempt, job.createdAt)
        buffers[job.destinationId] = buffer
        return delay
    }

    /// Drops the rows of partitions given up in a rebalance (their next owner reads them again).
    public mutating func revoke(_ partitions: Set<TopicPartition>) {
        offsets.revoke(partitions)
        for (id, var buffer) in buffers {
            let kept = buffer.rows.filter { !partitions.contains($0.partition) }
            guard kept.count != buffer.rows.count else { continue }
            buffer.rows = kept
            buffer.bytes = kept.reduce(0) { $0 + $1.size }
            if kept.isEmpty { buffer.oldest = nil }
            buffers[id] = buffer
        }
    }

    /// Forgets destinations that are gone from the workspace (and have no flush running).
    public mutating func remove(destinations: Set<String>) {
        for id in destinations where buffers[id]?.inFlight != true { buffers[id] = nil }
    }

    /// Destinations whose buffer is past the overflow limit: stop reading until they drain.
    public var overfull: [String] {
        buffers.filter { _, buffer in
            buffer.rows.count >= limits.maxRows * limits.overflowFactor
                || buffer.bytes >= limits.maxBytes * limits.overflowFactor
        }.map(\.key).sorted()
    }

    /// Rows buffered per destination (metrics).
    public var bufferedRows: [String: Int] { buffers.mapValues(\.rows.count) }

    /// Whether a flush of `destinationId` is running.
    public func isFlushing(_ destinationId: String) -> Bool { buffers[destinationId]?.inFlight ?? false }

    private func reachedCap(_ buffer: Buffer) -> Bool {
        buffer.rows.count >= limits.maxRows || buffer.bytes >= limits.maxBytes
    }

    private func canStart(_ buffer: Buffer, now: ContinuousClock.Instant) -> Bool {
        !buffer.inFlight && (buffer.retryAt.map { now >= $0 } ?? true)
    }

    private mutating func start(_ destinationId: String, wallClock: Date) -> FlushJob {
        var buffer = buffers[destinationId]!
        let job = FlushJob(
            id: buffer.failed?.id ?? makeID(), destinationId: destinationId, rows: buffer.rows,
            attempt: (buffer.failed?.attempts ?? 0) + 1, createdAt: buffer.failed?.createdAt ?? wallClock)
        buffer.rows = []
        buffer.bytes = 0
        buffer.oldest = nil
        buffer.inFlight = true
        buffer.retryAt = nil
        buffer.failed = nil
        buffers[destinationId] = buffer
        return job
    }
}

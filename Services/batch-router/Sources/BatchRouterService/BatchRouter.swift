import AsyncHTTPClient
import EventModel
import Destinations
import Foundation
import KafkaTransport
import Logging
import Metrics
import ObjectStorage
import ServiceLifecycle
import ServiceRuntime
import Storage
import Synchronization
import Warehouse
import WarehousePostgres
import WorkspaceConfig

/// Consumes `keel.batch`, buffers rows per destination, and flushes them to object storage or a
/// warehouse on each destination's interval or when a buffer reaches its cap (docs/batch-router.md).
///
/// Offsets are stored only after a flush is durable, per partition up to the lowest offset still
/// waiting in any destination's buffer (``OffsetBook``). A failing destination retries with
/// backoff while the others keep flushing; its rows stay buffered and its offsets unstored. When
/// its buffer passes `overflowFactor` × the caps, reading stops until it drains.
public final class BatchRouter: Service, Sendable {
    /// Called after a flush is durable and before its offsets are stored; a throw skips the
    /// store. Tests use it to stop the process at the worst moment.
    public typealias FlushHook = @Sendable (_ destinationId: String) async throws -> Void

    private let consumer: KafkaConsumer
    private let config: ConfigStore
    private let history: UploadHistory?
    private let settings: BatchRouterSettings
    private let secrets: SecretResolver
    private let httpClient: HTTPClient
    private let logger: Logger
    private let metrics: BatchRouterMetrics
    private let afterFlush: FlushHook?

    private let state: Mutex<FlushScheduler>
    /// Per partition, the latest message read (without its payload): the handle for storing offsets.
    private let markers = Mutex<[TopicPartition: ConsumedMessage]>([:])
    private let destinations = Mutex<DestinationCache>(DestinationCache())
    private let wakeups: AsyncStream<Void>
    private let wake: AsyncStream<Void>.Continuation

    public init(
        consumer: KafkaConsumer, config: ConfigStore, database: Storage.Database?, settings: BatchRouterSettings,
        secrets: SecretResolver, httpClient: HTTPClient = .shared, logger: Logger,
        metricsFactory: (any MetricsFactory)? = nil, afterFlush: FlushHook? = nil
    ) {
        self.consumer = consumer
        self.config = config
        self.history = database.map { UploadHistory(database: $0, logger: logger) }
        self.settings = settings
        self.secrets = secrets
        self.httpClient = httpClient
        self.logger = logger
        self.metrics = BatchRouterMetrics(factory: metricsFactory ?? MetricsSystem.factory)
        self.afterFlush = afterFlush
        self.state = Mutex(FlushScheduler(limits: .init(
            maxRows: settings.maxRowsPerFlush, maxBytes: settings.maxBytesPerFlush, overflowFactor: settings.overflowFactor,
            retryDelay: settings.retryDelay, maxRetryDelay: settings.maxRetryDelay)))
        (wakeups, wake) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    /// Reads and flushes until graceful shutdown (or cancellation). On graceful shutdown it stops
    /// reading and lets running flushes finish, so their offsets are stored before the consumer
    /// (which stops after this service) commits; buffered rows are read again after a restart.
    public func run() async throws {
        _ = try await config.waitForFirstLoad()
        let (jobs, jobsContinuation) = AsyncStream.makeStream(of: FlushJob.self)
        await withGracefulShutdownHandler {
            await withDiscardingTaskGroup { flushes in
                await withDiscardingTaskGroup { readers in
                    readers.addTask { await self.consume(jobs: jobsContinuation) }
                    readers.addTask { await self.tick(jobs: jobsContinuation) }
                    readers.addTask { await self.followAssignments() }
                    // At most one job per destination is in flight, so this fan-out is bounded.
                    for await job in jobs {
                        flushes.addTask { await self.execute(job) }
                    }
                    readers.cancelAll()
                }
            }
        } onGracefulShutdown: {
            jobsContinuation.finish()
        }
    }

    // MARK: Reading

    private func consume(jobs: AsyncStream<FlushJob>.Continuation) async {
        defer { jobs.finish() }
        var overfullWaits = wakeups.makeAsyncIterator()
        for await batch in consumer.messages {
            let snapshot = config.snapshot
            var started: [FlushJob] = []
            for message in batch {
                var marker = message
                marker.value = []
                marker.key = nil
                markers.withLock { $0[message.topicPartition] = marker }
                guard let row = try? BatchRow(parsing: message.value) else {
                    state.withLock { $0.skip(message.topicPartition, offset: message.offset) }
                    metrics.dropped(reason: "unreadable")
                    continue
                }
                guard let interval = interval(for: row.destinationId, snapshot: snapshot) else {
                    state.withLock { $0.skip(message.topicPartition, offset: message.offset) }
                    metrics.dropped(reason: "unknown destination")
                    if destinations.withLock({ $0.firstDrop(of: row.destinationId) }) {
                        logger.warning(
                            "dropping rows for a destination the batch-router does not load (not in the workspace, disabled, or an unsupported type)",
                            metadata: [LogKey.destination: "\(row.destinationId)", LogKey.destinationType: "\(row.destinationType)"])
                    }
                    continue
                }
                let pending = PendingRow(
                    partition: message.topicPartition, offset: message.offset, sourceId: row.sourceId, event: row.event,
                    size: message.value.count)
                let now = ContinuousClock.now
                if let job = state.withLock({ $0.add(pending, destinationId: row.destinationId, interval: interval, now: now, wallClock: Date()) }) {
                    started.append(job)
                }
            }
            for job in started { jobs.yield(job) }
            storeAdvanced(state.withLock { $0.takeAdvancedOffsets() })
            // Backpressure: a destination far past its caps (failing, or slower than the input) stops reading.
            while !state.withLock({ $0.overfull.isEmpty }) {
                guard await overfullWaits.next() != nil else { return }
            }
        }
    }

    private func tick(jobs: AsyncStream<FlushJob>.Continuation) async {
        while !Task.isCancelled {
            do { try await Task.sleep(for: settings.tick) } catch { return }
            let (due, buffered) = state.withLock { ($0.due(now: .now, wallClock: Date()), $0.bufferedRows) }
            for job in due { jobs.yield(job) }
            for (destination, rows) in buffered { metrics.buffered(destination, rows) }
        }
    }

    private func followAssignments() async {
        for await event in consumer.events {
            guard case .revoked(let partitions) = event else { continue }
            let revoked = Set(partitions)
            state.withLock { $0.revoke(revoked) }
            markers.withLock { markers in for partition in revoked { markers[partition] = nil } }
            wake.yield()
        }
    }

    // MARK: Flushing

    private func execute(_ job: FlushJob) async {
        let started = ContinuousClock.now
        let resolved = destinations.withLock { $0.destination(job.destinationId, snapshot: config.snapshot, secrets: secrets) }
        var metadata: Logger.Metadata = [
            LogKey.destination: "\(job.destinationId)", "rows": "\(job.rows.count)", LogKey.attempt: "\(job.attempt)",
        ]
        switch resolved {
        case .gone:
            // Removed from the workspace (or disabled): its rows have nowhere to go.
            logger.warning("batch destination gone; dropping its buffered rows", metadata: metadata)
            metrics.dropped(reason: "destination removed", count: job.rows.count)
            storeAdvanced(state.withLock { $0.succeeded(job) })
            wake.yield()
            return
        case .invalid(let destination, let error):
            fail(job, destination: destination, message: "destination settings: \(error)", metadata: &metadata)
            await history?.recordFailure(job, destination: destination, error: "destination settings: \(error)")
            wake.yield()
            return
        case .valid(let destination):
            do {
                let sink = try self.sink(for: destination)
                let outcome = try await sink.flush(job)
                let duration = ContinuousClock.now - started
                metrics.flushDuration(destination.id, status: "ok", duration)
                if outcome.files.isEmpty == false {
                    metrics.uploaded(destination.id, files: outcome.files.count, bytes: outcome.files.reduce(0) { $0 + $1.bytes })
                }
                if let load = outcome.load { metrics.loaded(destination.id, rows: load.rows, discards: load.discards) }
                for (reason, count) in outcome.rejected {
                    metrics.dropped(reason: "no warehouse row", count: count)
                    logger.debug("events without a warehouse row", metadata: ["reason": "\(reason)", "count": "\(count)"])
                }
                await history?.recordSuccess(job, destination: destination, outcome: outcome)
                metadata[LogKey.durationMs] = "\(duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000)"
                logger.info(destination.isWarehouse ? "batch loaded" : "batch uploaded", metadata: metadata)
                if let afterFlush {
                    do { try await afterFlush(destination.id) } catch { return }
                }
                storeAdvanced(state.withLock { $0.succeeded(job) })
            } catch {
                if Task.isCancelled { return }  // shutting down: the rows are read again after restart
                let message = Self.safeDescription(error)
                metrics.flushDuration(destination.id, status: "error", ContinuousClock.now - started)
                fail(job, destination: destination, message: message, metadata: &metadata)
                await history?.recordFailure(job, destination: destination, error: message)
            }
            wake.yield()
        }
    }

    private func fail(_ job: FlushJob, destination: BatchDestination, message: String, metadata: inout Logger.Metadata) {
        let delay = state.withLock { $0.failed(job, now: .now) }
        metrics.failed(destination.id)
        metadata[LogKey.error] = "\(message)"
        metadata["retryInSeconds"] = "\(delay.components.seconds)"
        logger.warning("batch flush failed; will retry", metadata: metadata)
    }

    private func sink(for destination: BatchDestination) throws -> any BatchSink {
        try destinations.withLock { cache throws in
            try cache.sink(for: destination, httpClient: httpClient, gzipLevel: settings.gzipLevel, logger: logger)
        }
    }

    private func storeAdvanced(_ positions: [TopicPartition: Int64]) {
        guard !positions.isEmpty else { return }
        let messages: [ConsumedMessage] = markers.withLock { markers in
            positions.compactMap { partition, position in
                guard var marker = markers[partition] else { return nil }
                marker.offset = position - 1
                return marker
            }
        }
        consumer.storeOffsets(messages)
    }

    private func interval(for destinationId: String, snapshot: WorkspaceSnapshot?) -> Duration? {
        destinations.withLock { $0.interval(destinationId, snapshot: snapshot, secrets: secrets) }
    }

    /// Error text safe for logs and history: our errors describe themselves without secrets or
    /// payloads; anything else is named by type.
    static func safeDescription(_ error: any Error) -> String {
        switch error {
        case let error as ObjectStorageError: error.description
        case let error as WarehouseLoadError: error.description
        case let error as BatchDestinationError: error.description
        case let error as GzipError: error.description
        default: String(reflecting: type(of: error))
        }
    }
}


import AsyncHTTPClient
import AsyncSignals
import EventModel
import KafkaTransport
import Logging
import ServiceLifecycle
import Synchronization

/// Looks up a destination's delivery policy (config overrides on top of per-type defaults).
public typealias DeliveryPolicyProvider = @Sendable (_ destinationId: String, _ destinationType: String) -> DeliveryPolicy

/// The router: consumes `keel.deliver.*`, delivers each job over HTTP in order per
/// (destination, user), retries, parks, records failures, stores offsets.
///
/// All decisions are made by ``DeliveryScheduler`` under one lock; this type performs the actions
/// it returns (HTTP sends, Postgres writes, timers) in child tasks of ``run()``. The work queue
/// between the two is bounded by the scheduler: sends by the destinations' concurrency limits,
/// park writes and loads by one writer and one load per key, timers by one per earlier deadline.
public final class Router: Service, Sendable {
    /// Router settings; see docs/router.md for the environment variables that set them.
    public struct Configuration: Sendable {
        /// Memory bounds per key and destination.
        public var limits = DeliveryScheduler.Limits()
        /// The consumer stops taking batches while more jobs than this are in memory. Default 40,000.
        public var maxJobsInMemory = 40_000
        /// How often the parked table is checked for replays. Default 1 s.
        public var replayPollInterval: Duration = .seconds(1)
        /// How often storable offsets are handed to the consumer. Default 100 ms.
        public var offsetStoreInterval: Duration = .milliseconds(100)
        /// How long graceful shutdown waits for requests in flight. Default 10 s.
        public var shutdownDrainTimeout: Duration = .seconds(10)
        /// How long a revoke waits for jobs being parked to be written, so that the partitions'
        /// next owner finds them. Default 10 s.
        public var revokeParkTimeout: Duration = .seconds(10)
        /// Topic names (the prefix of `keel.deliver.<type>`).
        public var topics = Topics()

        public init() {}
    }

    enum Work: Sendable {
        /// The sends of one scheduler call: one stream element for all of them, one child task each.
        case send([ScheduledJob])
        /// One batch request for several jobs (``Router/sendBatch(_:)``).
        case sendBatch([ScheduledJob])
        case recordFailure(ScheduledJob, DeliveryFailure)
        case parkWriter
        case load(DeliveryKey, afterSeq: Int64, limit: Int)
        case timer(ContinuousClock.Instant)
    }

    struct PartitionMarkers {
        /// Per partition, a message read under the current assignment (value dropped), used to
        /// store an offset with the right assignment generation.
        var markers: [PartitionRef: ConsumedMessage] = [:]
    }

    let configuration: Configuration
    let consumer: KafkaConsumer
    let store: RouterStore
    let deliverer: HTTPDeliverer
    /// Batch specs per destination type (docs/router.md, "Batching").
    let batching = Batching()
    let policies: DeliveryPolicyProvider
    let logger: Logger
    let metrics: RouterMetrics
    let scheduler: Mutex<DeliveryScheduler>
    let markers = Mutex(PartitionMarkers())
    let work: AsyncStream<Work>
    let workContinuation: AsyncStream<Work>.Continuation
    /// Signalled when jobs in memory fall under the bound.
    let room: AsyncStream<Void>
    let roomContinuation: AsyncStream<Void>.Continuation
    let waitingForRoom = Atomic<Bool>(false)
    let inFlight = Atomic<Int>(0)
    /// Highest replay row seq already handed to the scheduler.
    let replayWatermark = Atomic<Int64>(0)
    /// Parked rows whose jobs were delivered (seq and key), deleted in batches by
    /// ``deleteDeliveredParked()``.
    let pendingParkedDeletes = Mutex<[(seq: Int64, key: DeliveryKey)]>([])
    /// The partitions this replica owns, and so the keys whose parked rows it loads.
    let ownership = Mutex(PartitionOwnership())
    /// Fired with `true` once the schema is migrated, with `false` if ``run()`` ends first; the
    /// rebalance handler waits for it.
    let ready = OneShot<Bool>()
    /// True from the migration until ``run()`` ends.
    let running = Atomic<Bool>(false)
    /// `copiesOfParkedDropped` as last reported to the counter.
    let reportedCopiesDropped = Atomic<Int>(0)

    public init(
        configuration: Configuration = Configuration(), consumer: KafkaConsumer, store: RouterStore, httpClient: HTTPClient,
        httpClientsByType: [String: HTTPClient] = [:], policies: @escaping DeliveryPolicyProvider, metrics: RouterMetrics = RouterMetrics(),
        logger: Logger
    ) {
        self.configuration = configuration
        self.consumer = consumer
        self.store = store
        self.deliverer = HTTPDeliverer(client: httpClient, clientsByType: httpClientsByType)
        self.policies = policies
        self.metrics = metrics
        self.logger = logger
        var scheduler = DeliveryScheduler(limits: configuration.limits)
        scheduler.acceptedPartitions = []
        self.scheduler = Mutex(scheduler)
        (work, workContinuation) = AsyncStream.makeStream(of: Work.self)
        (room, roomContinuation) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        consumer.onRebalance(timeout: nil) { [weak self] event in await self?.rebalanced(event) }
    }

    /// Runs until graceful shutdown or cancellation. Requires the consumer and the database to run.
    public func run() async throws {
        defer {
            running.store(false, ordering: .sequentiallyConsistent)
            ready.fire(false)
        }
        try await migrate()
        running.store(true, ordering: .sequentiallyConsistent)
        ready.fire(true)
        await withDiscardingTaskGroup { group in
            group.addTask {
                await cancelWhenGracefulShutdown { await self.consume() }
                await self.drainInFlight()
                self.storeOffsets()
                await self.deleteDeliveredParked()
                self.workContinuation.finish()
            }
            group.addTask { await cancelWhenGracefulShutdown { await self.storeOffsetsPeriodically() } }
            group.addTask { await cancelWhenGracefulShutdown { await self.pollReplays() } }
            for await item in work {
                if case .send(let jobs) = item {
                    for job in jobs { group.addTask { await self.send(job) } }
                } else {
                    group.addTask { await self.perform(item) }
                }
            }
            group.cancelAll()
        }
        roomContinuation.finish()
    }

    // MARK: Consuming

    private func consume() async {
        for await batch in consumer.messages {
            if Task.isCancelled { break }
            let now = ContinuousClock.now
            var actions: [DeliveryScheduler.Action] = []
            var invalid: [(ConsumedMessage, InvalidDeliveryJob)] = []
            var parsed: [(DeliveryJob, ConsumedMessage, BatchTicket?)] = []
            parsed.reserveCapacity(batch.count)
            for message in batch {
                do {
                    let job = try DeliveryJob(parsing: message.value, key: message.key)
                    parsed.append((job, message, batching.ticket(for: job)))
                } catch let error as InvalidDeliveryJob {
                    invalid.append((message, error))
                } catch {
                    invalid.append((message, InvalidDeliveryJob(reason: "unreadable")))
                }
            }
            var policyCache: [String: DeliveryPolicy] = [:]
            var destinationTopics: [(destinationId: String, topic: String)] = []
            scheduler.withLock { scheduler in
                for (job, message, ticket) in parsed {
                    let policy: DeliveryPolicy
                    if let cached = policyCache[job.destinationId] {
                        policy = cached
                    } else {
                        policy = policies(job.destinationId, job.destinationType)
                        policyCache[job.destinationId] = policy
                        scheduler.updatePolicy(policy, destinationId: job.destinationId)
                        destinationTopics.append((job.destinationId, message.topic))
                    }
                    let partition = message.topicPartition
                    actions += scheduler.enqueue(job, from: partition, offset: message.offset, policy: policy, now: now, batch: ticket)
                }
            }
            if let last = batch.last {
                var marker = last
                marker.value = []
                marker.key = nil
                marker.headers = []
                markers.withLock { state in
                    for message in batch where state.markers[message.topicPartition]?.offset ?? -1 < message.offset {
                        var m = marker
                        m.topic = message.topic
                        m.partition = message.partition
                        m.offset = message.offset
                        state.markers[message.topicPartition] = m
                    }
                }
            }
            ownership.withLock { ownership in
                for (destinationId, topic) in destinationTopics { ownership.noteTopic(topic, of: destinationId) }
            }
            handle(actions)
            for (message, error) in invalid { recordInvalid(message, error) }
            await waitForRoom()
        }
    }

    /// A message that is not a delivery job cannot be delivered: it goes to failed events (so it can
    /// be seen) and its offset moves on.
    private func recordInvalid(_ message: ConsumedMessage, _ error: InvalidDeliveryJob) {
        metrics.counter("keel_router_invalid_jobs_total", []).increment()
        logger.error("invalid delivery job", metadata: ["topic": "\(message.topic)", "partition": "\(message.partition)", "offset": "\(message.offset)", "error": "\(safeErrorDescription(error))"])
        let keyText = message.key.map { String(decoding: $0, as: UTF8.self) } ?? ":"
        let parts = keyText.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
        let job = DeliveryJob(
            destinationId: parts.first.map(String.init) ?? "", destinationType: Topics().destinationType(ofDeliverTopic: message.topic) ?? "",
            messageId: "", userKey: parts.count > 1 ? String(parts[1]) : "", eventType: "", requests: [], raw: message.value
        )
        // Through the scheduler so that the offset is only stored once the failure is recorded.
        let actions = scheduler.withLock { scheduler in
            scheduler.enqueueInvalid(job, from: message.topicPartition, offset: message.offset, reason: error.reason)
        }
        handle(actions)
    }

    private func waitForRoom() async {
        while scheduler.withLock({ $0.jobsInMemory }) > configuration.maxJobsInMemory {
            waitingForRoom.store(true, ordering: .sequentiallyConsistent)
            // Re-check after publishing the flag so a completion in between is not missed.
            if scheduler.withLock({ $0.jobsInMemory }) <= configuration.maxJobsInMemory { break }
            var iterator = room.makeAsyncIterator()
            guard await iterator.next() != nil else { return }
        }
        waitingForRoom.store(false, ordering: .sequentiallyConsistent)
    }

    func signalRoomIfWaiting() {
        guard waitingForRoom.load(ordering: .sequentiallyConsistent) else { return }
        if scheduler.withLock({ $0.jobsInMemory }) <= configuration.maxJobsInMemory {
            roomContinuation.yield()
        }
    }

    // MARK: Offsets

    private func storeOffsetsPeriodically() async {
        var lastGauges = ContinuousClock.now
        while !Task.isCancelled {
            try? await Task.sleep(for: configuration.offsetStoreInterval)
            storeOffsets()
            await deleteDeliveredParked()
            if ContinuousClock.now - lastGauges >= .seconds(1) {
                lastGauges = .now
                updateGauges()
            }
        }
    }

    /// In-flight and in-memory gauges per destination, parked rows, jobs in memory, keys whose
    /// parked rows wait for a handover, and copies of parked jobs dropped.
    private func updateGauges() {
        let (stats, parked, inMemory, held, dropped) = scheduler.withLock {
            ($0.destinationStats, $0.totalParkedRows, $0.jobsInMemory, $0.keysAwaitingHandover, $0.copiesOfParkedDropped)
        }
        metrics.gauge("keel_router_handover_held_keys").record(held)
        let previous = reportedCopiesDropped.exchange(dropped, ordering: .relaxed)
        if dropped > previous { metrics.counter("keel_router_reread_copies_dropped_total", []).increment(by: dropped - previous) }
        for stat in stats {
            metrics.gauge("keel_router_in_flight", [("destination_id", stat.destinationId)]).record(stat.inFlight)
            metrics.gauge("keel_router_queued", [("destination_id", stat.destinationId)]).record(stat.queued)
        }
        metrics.gauge("keel_router_parked_jobs").record(parked)
        metrics.gauge("keel_router_jobs_in_memory").record(inMemory)
    }

    /// Hands the storable offsets to the consumer (committed with its next auto-commit).
    func storeOffsets() {
        let offsets = scheduler.withLock { $0.takeStorableOffsets() }
        guard !offsets.isEmpty else { return }
        let toStore: [ConsumedMessage] = markers.withLock { state in
            offsets.compactMap { partition, next in
                guard var marker = state.markers[partition] else { return nil }
                marker.offset = next - 1
                return marker
            }
        }
        consumer.storeOffsets(toStore)
    }

    private func drainInFlight() async {
        let deadline = ContinuousClock.now + configuration.shutdownDrainTimeout
        while inFlight.load(ordering: .relaxed) > 0 && ContinuousClock.now < deadline && !Task.isCancelled {
            try? await Task.sleep(for: .milliseconds(20))
        }
    }

    // MARK: Parked rows and replays

    /// Creates or updates schema `router`, waiting for Postgres if it is not up yet.
    private func migrate() async throws {
        var delay: Duration = .milliseconds(200)
        while true {
            do {
                return try await store.migrate()
            } catch {
                if Task.isCancelled { throw error }
                logger.warning("cannot migrate schema router; retrying", metadata: ["error": "\(safeErrorDescription(error))"])
                try await Task.sleep(for: delay)
                delay = min(delay * 2, .seconds(5))
            }
        }
    }

    /// Adds the parked rows of keys that `partitions` (newly assigned) own to the scheduler, before
    /// the partitions are read, so that new jobs of those keys queue behind them and jobs read
    /// again are placed around them (DeliveryScheduler+Handover.swift). Retries until Postgres and
    /// Kafka answer, while the router runs.
    private func seedParked(for partitions: [PartitionRef]) async {
        var counts: [ParkedKeyCount] = []
        var maxSeq: Int64 = 0
        var committed: [PartitionRef: Int64] = [:]
        guard
            await retrying(
                "read parked jobs and committed offsets", while: isRunning,
                {
                    (counts, maxSeq) = try await store.parkedCounts(deliverTopicPrefix: deliverTopicPrefix)
                    committed = try await consumer.committedOffsets(partitions)
                })
        else { return }
        let assigned = Set(partitions)
        let owned = ownership.withLock { ownership in
            counts.filter { count in
                if !count.topic.isEmpty { ownership.noteTopic(count.topic, of: count.key.destinationId) }
                return ownership.owns(count.key, topic: count.topic, among: assigned)
            }
        }
        let actions = scheduler.withLock { scheduler in
            scheduler.seedParked(owned, committed: committed) { self.policies($0.destinationId, "") }
        }
        handle(actions)
        replayWatermark.max(maxSeq, ordering: .relaxed)
        if !owned.isEmpty {
            logger.info("parked jobs of assigned partitions", metadata: ["keys": "\(owned.count)", "jobs": "\(owned.reduce(0) { $0 + $1.count })"])
        }
    }

    /// `keel.deliver.` with the configured prefix: with a job's destination type, a row's topic.
    private var deliverTopicPrefix: String { configuration.topics.deliver(destinationType: "") }

    /// Whether ``run()`` is between its migration and its end (the rebalance handler's retries stop
    /// with it).
    private func isRunning() -> Bool { running.load(ordering: .sequentiallyConsistent) }

    private func addParked(_ counts: [ParkedKeyCount]) {
        guard !counts.isEmpty else { return }
        let actions = scheduler.withLock { scheduler in
            counts.flatMap { scheduler.addExternalParked($0.key, count: $0.count, policy: policies($0.key.destinationId, "")) }
        }
        handle(actions)
    }

    private func pollReplays() async {
        while !Task.isCancelled {
            try? await Task.sleep(for: configuration.replayPollInterval)
            if Task.isCancelled { return }
            do {
                let (counts, maxSeq) = try await store.newReplayRows(
                    after: replayWatermark.load(ordering: .relaxed), deliverTopicPrefix: deliverTopicPrefix)
                guard !counts.isEmpty else { continue }
                replayWatermark.max(maxSeq, ordering: .relaxed)
                // Replays of keys another replica owns are that replica's to send.
                let owned = ownership.withLock { ownership in counts.filter { ownership.owns($0.key, topic: $0.topic) } }
                guard !owned.isEmpty else { continue }
                addParked(owned)
                logger.info("replayed jobs to deliver", metadata: ["jobs": "\(owned.reduce(0) { $0 + $1.count })"])
            } catch {
                logger.warning("cannot poll replays", metadata: ["error": "\(safeErrorDescription(error))"])
            }
        }
    }

    // MARK: Rebalances

    /// Runs inside the consumer's rebalance (``KafkaConsumer/onRebalance(timeout:_:)``), before
    /// newly assigned partitions are fetched and before revoked ones are committed and given up.
    func rebalanced(_ event: KafkaConsumer.AssignmentEvent) async {
        switch event {
        case .assigned(let partitions):
            metrics.counter("keel_router_rebalances_total", [("event", "assigned")]).increment()
            guard await ready.wait() else { return }
            var counts: [String: Int] = [:]
            guard await retrying("read topic metadata", while: isRunning, { counts = try await consumer.partitionCounts() }) else { return }
            ownership.withLock { $0.assign(partitions, partitionCounts: counts) }
            scheduler.withLock { $0.acceptedPartitions?.formUnion(partitions) }
            await seedParked(for: partitions)
        case .revoked(let partitions):
            metrics.counter("keel_router_rebalances_total", [("event", "revoked")]).increment()
            // No more jobs of these partitions are taken; those read already and bound for the
            // parked table are written, and their offsets stored, before the partitions' offsets
            // are committed and handed over.
            scheduler.withLock { scheduler in
                for partition in partitions { scheduler.acceptedPartitions?.remove(partition) }
            }
            if isRunning() { await waitForParkWriter() }
            storeOffsets()
            let owned = ownership.withLock { ownership in
                ownership.revoke(partitions)
                return ownership
            }
            scheduler.withLock { $0.partitionsRevoked(partitions, stillOwns: { owned.owns($0) }) }
            markers.withLock { state in
                for partition in partitions { state.markers[partition] = nil }
            }
            signalRoomIfWaiting()
            if isRunning() { await deleteDeliveredParked() }
        }
    }

    /// Waits until the park outbox is written, at most ``Configuration/revokeParkTimeout``.
    private func waitForParkWriter() async {
        let deadline = ContinuousClock.now + configuration.revokeParkTimeout
        while scheduler.withLock({ $0.isParking }) {
            guard ContinuousClock.now < deadline, isRunning() else {
                logger.warning("partitions revoked while jobs were still being parked; their next owner reads them again from Kafka")
                return
            }
            try? await Task.sleep(for: .milliseconds(5))
        }
    }
}

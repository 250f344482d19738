import CRdKafka
import Foundation
import Logging
import Metrics
import ServiceLifecycle
import Synchronization

/// Reads a consumer group's messages in batches, pull-based, at least once.
///
/// ```swift
/// let consumer = try KafkaConsumer(configuration: config, logger: logger)
/// // consumer.run() runs in the ServiceGroup
/// for await batch in consumer.messages {
///     try await process(batch)           // the side effect, made durable
///     consumer.storeOffsets(batch)       // only now: committed with the next auto-commit
/// }
/// ```
///
/// A dedicated thread polls librdkafka and hands batches over through a buffer of
/// ``Configuration/bufferedBatches`` batches, so the reader's speed is the backpressure.
/// Offsets are committed periodically (`enable.auto.commit`), but only those stored with
/// ``storeOffsets(_:)`` (`enable.auto.offset.store=false`). A message whose offset was never stored
/// is read again after a crash or a rebalance.
///
/// Rebalances: on revoke, stored offsets are committed synchronously before the partitions are
/// given up, buffered messages of those partitions are dropped, and later stores for messages
/// read under the revoked assignment are ignored (the partition's next owner reads them again).
/// ``events`` reports assignment changes so per-partition state can be dropped.
///
/// ``run()`` must run (in a `ServiceGroup`) for messages to flow. On graceful shutdown it stops
/// reading, waits up to ``Configuration/shutdownDrainTimeout`` for the batch being processed,
/// commits stored offsets, leaves the group and ends ``messages``.
public final class KafkaConsumer: Service, Sendable {
    /// A change of this member's partitions.
    public enum AssignmentEvent: Sendable, Equatable {
        case assigned([TopicPartition])
        case revoked([TopicPartition])
    }

    private let configuration: Configuration
    private let client: RdKafkaClient
    private let started = Atomic<Bool>(false)

    /// Batches of messages, in partition order. One reader at a time. Ends when the consumer
    /// stops.
    public let messages: Messages
    /// Assignment changes (bounded to the newest 1,024 if nobody reads them). One reader.
    public let events: AsyncStream<AssignmentEvent>

    /// `metrics` receives `keel_kafka_consumer_lag` (default: the process's `MetricsSystem`).
    public init(
        configuration: Configuration, logger: Logger, metrics: (any MetricsFactory)? = nil
    ) throws(KafkaError) {
        guard !configuration.topics.isEmpty else { throw .configuration("no topics to subscribe to") }
        guard configuration.maxBatchSize >= 1, configuration.bufferedBatches >= 1 else {
            throw .configuration("maxBatchSize and bufferedBatches must be at least 1")
        }
        self.configuration = configuration
        let (events, eventsContinuation) = AsyncStream.makeStream(
            of: AssignmentEvent.self, bufferingPolicy: .bufferingNewest(1024))
        self.events = events
        let lag = configuration.statisticsInterval.map { _ in
            ConsumerLagGauges(group: configuration.groupID, factory: metrics ?? MetricsSystem.factory)
        }
        let context = ConsumerContext(
            logger: logger, capacity: configuration.bufferedBatches, events: eventsContinuation, lag: lag)
        client = try RdKafkaClient(type: RD_KAFKA_CONSUMER, properties: configuration.properties, context: context) {
            conf in
            rd_kafka_conf_set_rebalance_cb(conf, rebalanceCallback)
            rd_kafka_conf_set_error_cb(conf, consumerErrorCallback)
            if lag != nil { rd_kafka_conf_set_stats_cb(conf, consumerStatisticsCallback) }
        }
        rd_kafka_poll_set_consumer(client.handle)
        messages = Messages(context: context)
    }

    private var context: ConsumerContext { client.context as! ConsumerContext }

    /// What ``onRebalance(timeout:_:)`` installs.
    public struct RebalanceHandler: Sendable {
        let timeout: Duration?
        let handle: @Sendable (AssignmentEvent) async -> Void
    }

    /// Installs `handler`, called for every assignment change *inside* the rebalance, on the
    /// consumer thread, which waits for it (like the Java client's `ConsumerRebalanceListener`):
    ///
    /// - `.assigned`: before the partitions are fetched, so state they depend on (e.g. work left
    ///   parked by their previous owner) can be loaded before their first message arrives;
    /// - `.revoked`: before their offsets are committed and they are given up, so work taken from
    ///   them can be made durable and its offsets stored (``storeOffsets(_:)`` still accepts them).
    ///
    /// While it runs nothing is consumed, so keep it short. With a `timeout`, the rebalance goes on
    /// when it passes (the handler keeps running); with `nil` it waits as long as the handler takes
    /// (past ``Configuration/maxPollInterval`` the group drops this member). Install it before
    /// ``run()``. The ``events`` stream reports the same changes afterwards, without waiting.
    public func onRebalance(timeout: Duration?, _ handler: @escaping @Sendable (AssignmentEvent) async -> Void) {
        context.rebalanceHandler.withLock { $0 = RebalanceHandler(timeout: timeout, handle: handler) }
    }

    /// The group's committed offsets of `partitions` (the next offset to read), from the group
    /// coordinator; a partition without one is absent (reading starts per `auto.offset.reset`).
    public func committedOffsets(_ partitions: [TopicPartition], timeout: Duration = .seconds(10)) async throws(KafkaError)
        -> [TopicPartition: Int64]
    {
        guard !partitions.isEmpty else { return [:] }
        let client = self.client
        let result: Result<[TopicPartition: Int64], KafkaError> = await onDedicatedThread("keel-kafka-committed") {
            let list = TopicPartitionList(partitions)
            defer { list.destroy() }
            let err = rd_kafka_committed(client.handle, list.pointer, timeout.milliseconds)
            if err != RD_KAFKA_RESP_ERR_NO_ERROR { return .failure(KafkaError(err, context: "committed offsets")) }
            var offsets: [TopicPartition: Int64] = [:]
            for element in list.elements where element.err == RD_KAFKA_RESP_ERR_NO_ERROR && element.offset >= 0 {
                offsets[TopicPartition(topic: String(cString: element.topic), partition: element.partition)] = element.offset
            }
            return .success(offsets)
        }
        return try result.get()
    }

    /// The number of partitions of each topic in the cluster, from a metadata request (all topics).
    public func partitionCounts(timeout: Duration = .seconds(10)) async throws(KafkaError) -> [String: Int] {
        let client = self.client
        let result = await onDedicatedThread("keel-kafka-metadata") { client.metadata(allTopics: true, timeout: timeout) }
        return try result.get().topics
    }

    /// Polls until graceful shutdown or cancellation, then commits and leaves the group. Throws
    /// when librdkafka reports a fatal error or the subscription is invalid.
    public func run() async throws {
        guard !started.exchange(true, ordering: .acquiringAndReleasing) else {
            throw KafkaError(code: .invalidArgument, isRetryable: false, context: "consumer", reason: "run() called twice")
        }
        let client = self.client
        let configuration = self.configuration
        let context = self.context
        let thread = Thread {
            ConsumerLoop(client: client, context: context, configuration: configuration).run()
        }
        thread.name = "keel-kafka-consumer"
        thread.start()
        await withTaskCancellationHandler {
            await withGracefulShutdownHandler {
                _ = await context.finished.wait()
            } onGracefulShutdown: {
                context.requestStop(drain: true)
            }
        } onCancel: {
            context.requestStop(drain: false)
        }
        if let error = await context.finished.wait() { throw error }
    }

    /// Marks `message` processed: its offset + 1 is committed with the next auto-commit.
    /// Ignored when the message's partition was revoked since it was read.
    public func storeOffset(_ message: ConsumedMessage) {
        storeOffsets(CollectionOfOne(message))
    }

    /// Marks `messages` processed: per partition, the highest offset + 1 is committed with the
    /// next auto-commit. Messages of partitions revoked since they were read are ignored; they
    /// will be read again by the partition's next owner (at least once).
    public func storeOffsets<Messages: Sequence<ConsumedMessage>>(_ messages: Messages) {
        context.storeOffsets(messages, handle: client.handle)
    }

    /// Stops fetching `partition` of `topic` until ``resume(topic:partition:)``. Messages already
    /// handed over or buffered (at most ``Configuration/bufferedBatches`` batches) still arrive.
    /// A pause lasts until the partition is revoked. Throws ``KafkaError/Code/notAssigned`` for a
    /// partition not assigned to this member.
    public func pause(topic: String, partition: Int32) throws(KafkaError) {
        try pause([TopicPartition(topic: topic, partition: partition)])
    }

    /// Resumes fetching a paused partition where it stopped.
    public func resume(topic: String, partition: Int32) throws(KafkaError) {
        try resume([TopicPartition(topic: topic, partition: partition)])
    }

    public func pause(_ partitions: [TopicPartition]) throws(KafkaError) {
        try pauseOrResume(partitions, pause: true)
    }

    public func resume(_ partitions: [TopicPartition]) throws(KafkaError) {
        try pauseOrResume(partitions, pause: false)
    }

    /// The partitions currently assigned to this member.
    public var assignment: Set<TopicPartition> {
        context.state.withLock { Set($0.generations.keys) }
    }

    private func pauseOrResume(_ partitions: [TopicPartition], pause: Bool) throws(KafkaError) {
        let verb = pause ? "pause" : "resume"
        let assigned = assignment
        if let missing = partitions.first(where: { !assigned.contains($0) }) {
            throw KafkaError(code: .notAssigned, isRetryable: false, context: "\(verb) \(missing)", reason: "not assigned")
        }
        let list = TopicPartitionList(partitions)
        defer { list.destroy() }
        let err = pause ? rd_kafka_pause_partitions(client.handle, list.pointer)
                        : rd_kafka_resume_partitions(client.handle, list.pointer)
        if err != RD_KAFKA_RESP_ERR_NO_ERROR { throw KafkaError(err, context: verb) }
        for element in list.elements where element.err != RD_KAFKA_RESP_ERR_NO_ERROR {
            var error = KafkaError(element.err, context: "\(verb) \(String(cString: element.topic))[\(element.partition)]")
            if element.err == RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION { error.code = .notAssigned }
            throw error
        }
    }
}

extension KafkaConsumer {
    /// The batches of a ``KafkaConsumer``.
    public struct Messages: AsyncSequence, Sendable {
        public typealias Element = [ConsumedMessage]
        public typealias Failure = Never
        let context: ConsumerContext

        public func makeAsyncIterator() -> Iterator { Iterator(context: context) }

        public struct Iterator: AsyncIteratorProtocol {
            public typealias Element = [ConsumedMessage]
            public typealias Failure = Never
            let context: ConsumerContext

            /// The next batch; nil once the consumer stopped (or the task was cancelled).
            public mutating func next() async -> [ConsumedMessage]? {
                await context.nextBatch()
            }

            public mutating func next(isolation actor: isolated (any Actor)?) async -> [ConsumedMessage]? {
                await context.nextBatch()
            }
        }
    }
}

/// A `rd_kafka_topic_partition_list_t` built from Swift values.
struct TopicPartitionList {
    let pointer: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>

    init(_ partitions: [TopicPartition], offsets: [Int64]? = nil) {
        pointer = rd_kafka_topic_partition_list_new(Int32(partitions.count))
        for (index, partition) in partitions.enumerated() {
            let element = rd_kafka_topic_partition_list_add(pointer, partition.topic, partition.partition)
            if let offsets { element?.pointee.offset = offsets[index] }
        }
    }

    init(borrowing pointer: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>) {
        self.pointer = pointer
    }

    var elements: UnsafeMutableBufferPointer<rd_kafka_topic_partition_t> {
        UnsafeMutableBufferPointer(start: pointer.pointee.elems, count: Int(pointer.pointee.cnt))
    }

    var partitions: [TopicPartition] {
        elements.map { TopicPartition(topic: String(cString: $0.topic), partition: $0.partition) }
    }

    func destroy() { rd_kafka_topic_partition_list_destroy(pointer) }
}

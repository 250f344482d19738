import AsyncSignals
import CRdKafka
import Dispatch
import Foundation
import Logging
import Synchronization

/// What the consumer thread, librdkafka's callbacks and the reader share.
final class ConsumerContext: ClientContext, @unchecked Sendable {
    // @unchecked: mutable state lives in `state` (a Mutex); the rest is immutable or Sendable.
    struct State {
        var handoff: BatchHandoff<[ConsumedMessage]>
        /// The assignment generation of each assigned partition.
        var generations: [TopicPartition: UInt64] = [:]
        var lastGeneration: UInt64 = 0
        /// nil while running; whether to drain once stopping.
        var stop: Bool?
    }

    let state: Mutex<State>
    /// Signalled when a waiting consumer thread may continue (see ``BatchHandoff``).
    let writerSignal = DispatchSemaphore(value: 0)
    let events: AsyncStream<KafkaConsumer.AssignmentEvent>.Continuation
    /// Fired by the consumer thread when it is done, with the error that stopped it, if any.
    let finished = OneShot<KafkaError?>()
    /// Set by the error callback when librdkafka reports a fatal error.
    let fatalError = Mutex<KafkaError?>(nil)
    /// Where statistics go, when they are on (``KafkaConsumer/Configuration/statisticsInterval``).
    let lag: ConsumerLagGauges?
    /// Called on the consumer thread inside the rebalance callback (``KafkaConsumer/onRebalance(timeout:_:)``).
    let rebalanceHandler = Mutex<KafkaConsumer.RebalanceHandler?>(nil)

    init(
        logger: Logger, capacity: Int, events: AsyncStream<KafkaConsumer.AssignmentEvent>.Continuation,
        lag: ConsumerLagGauges? = nil
    ) {
        self.state = Mutex(State(handoff: BatchHandoff(capacity: capacity)))
        self.events = events
        self.lag = lag
        super.init(logger: logger)
    }

    var stopRequested: Bool? { state.withLock { $0.stop } }

    func requestStop(drain: Bool) {
        let action = state.withLock { state -> BatchHandoff<[ConsumedMessage]>.FinishAction in
            if state.stop == nil { state.stop = drain }
            return state.handoff.finish()
        }
        switch action {
        case .none: break
        case .signalWriter: writerSignal.signal()
        case .resumeReaderWithEnd(let reader, let signal):
            reader.resume(returning: nil)
            if signal { writerSignal.signal() }
        }
    }

    func nextBatch() async -> [ConsumedMessage]? {
        await withTaskCancellationHandler {
            await withUnsafeContinuation { (continuation: UnsafeContinuation<[ConsumedMessage]?, Never>) in
                let action = state.withLock { $0.handoff.next(continuation) }
                switch action {
                case .suspended:
                    break
                case .batch(let batch, let signal):
                    if signal { writerSignal.signal() }
                    continuation.resume(returning: batch)
                case .end(let signal):
                    if signal { writerSignal.signal() }
                    continuation.resume(returning: nil)
                }
            }
        } onCancel: {
            state.withLock { $0.handoff.cancelReader() }?.resume(returning: nil)
        }
    }

    func storeOffsets<Messages: Sequence<ConsumedMessage>>(_ messages: Messages, handle: OpaquePointer) {
        state.withLock { state in
            var highest: [TopicPartition: Int64] = [:]
            var ignored = 0
            for message in messages {
                let partition = message.topicPartition
                guard let generation = state.generations[partition], generation == message.assignmentGeneration
                else {
                    ignored += 1
                    continue
                }
                highest[partition] = max(highest[partition] ?? -1, message.offset)
            }
            if ignored > 0 {
                logger.debug("kafka offsets of revoked partitions not stored", metadata: ["kafka.ignored": "\(ignored)"])
            }
            guard !highest.isEmpty else { return }
            let partitions = Array(highest.keys)
            let list = TopicPartitionList(partitions, offsets: partitions.map { highest[$0]! + 1 })
            defer { list.destroy() }
            // Under the lock, so a revoke (which takes the lock first) cannot interleave.
            let err = rd_kafka_offsets_store(handle, list.pointer)
            if err != RD_KAFKA_RESP_ERR_NO_ERROR {
                logger.warning(
                    "kafka offsets not stored", metadata: ["kafka.error": "\(String(cString: rd_kafka_err2str(err)))"])
            }
        }
    }

    /// Records an assignment; returns nothing (generations are read per message).
    func assigned(_ partitions: [TopicPartition]) {
        state.withLock { state in
            state.lastGeneration += 1
            for partition in partitions { state.generations[partition] = state.lastGeneration }
        }
    }

    /// Forgets partitions: later stores for them are ignored and their buffered messages dropped.
    func revoked(_ partitions: [TopicPartition]) {
        let revoked = Set(partitions)
        state.withLock { state in
            for partition in partitions { state.generations[partition] = nil }
            state.handoff.removeMessages { (message: ConsumedMessage) in revoked.contains(message.topicPartition) }
        }
    }

    func generation(of partition: TopicPartition) -> UInt64 {
        state.withLock { $0.generations[partition] ?? 0 }
    }

    /// Runs the rebalance handler, if any, and blocks the consumer thread until it returns (or its
    /// timeout passes): no message of a newly assigned partition is fetched before it has run, and a
    /// revoked partition's offsets are committed only after it.
    func runRebalanceHandler(_ event: KafkaConsumer.AssignmentEvent) {
        guard let handler = rebalanceHandler.withLock({ $0 }) else { return }
        let done = DispatchSemaphore(value: 0)
        Task {
            await handler.handle(event)
            done.signal()
        }
        guard let timeout = handler.timeout else {
            done.wait()
            return
        }
        if done.wait(timeout: .now() + .milliseconds(Int(timeout.milliseconds))) == .timedOut {
            logger.warning("kafka rebalance handler still running after its timeout; going on", metadata: ["kafka.event": "\(event)"])
        }
    }
}

let rebalanceCallback:
    @convention(c) (
        OpaquePointer?, rd_kafka_resp_err_t, UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?,
        UnsafeMutableRawPointer?
    ) -> Void = { handle, err, list, _ in
        guard let handle, let list, let context = RdKafkaClient.context(of: handle) as? ConsumerContext else { return }
        let partitions = TopicPartitionList(borrowing: list).partitions
        let cooperative = rd_kafka_rebalance_protocol(handle).map { String(cString: $0) } == "COOPERATIVE"
        switch err {
        case RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS:
            context.assigned(partitions)
            context.runRebalanceHandler(.assigned(partitions))
            if cooperative {
                if let error = rd_kafka_incremental_assign(handle, list) {
                    context.logger.error(
                        "kafka incremental assign failed", metadata: ["kafka.error": "\(KafkaError(error: error, context: "assign"))"])
                    rd_kafka_error_destroy(error)
                }
            } else {
                rd_kafka_assign(handle, list)
            }
            context.logger.info("kafka partitions assigned", metadata: ["kafka.partitions": "\(partitions)"])
            context.events.yield(.assigned(partitions))
        case RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS:
            // Before the partitions are forgotten: the handler may still store their offsets.
            context.runRebalanceHandler(.revoked(partitions))
            context.revoked(partitions)
            if rd_kafka_assignment_lost(handle) == 0 {
                // Commit what was stored before giving the partitions up.
                let commitErr = rd_kafka_commit(handle, nil, 0)
                if commitErr != RD_KAFKA_RESP_ERR_NO_ERROR, commitErr != RD_KAFKA_RESP_ERR__NO_OFFSET {
                    context.logger.warning(
                        "kafka commit on revoke failed",
                        metadata: ["kafka.error": "\(String(cString: rd_kafka_err2str(commitErr)))"])
                }
            }
            if cooperative {
                if let error = rd_kafka_incremental_unassign(handle, list) { rd_kafka_error_destroy(error) }
            } else {
                rd_kafka_assign(handle, nil)
            }
            context.logger.info("kafka partitions revoked", metadata: ["kafka.partitions": "\(partitions)"])
            context.events.yield(.revoked(partitions))
        default:
            context.logger.error(
                "kafka rebalance failed", metadata: ["kafka.error": "\(String(cString: rd_kafka_err2str(err)))"])
            let assigned = Array(context.state.withLock { $0.generations.keys })
            if !assigned.isEmpty { context.runRebalanceHandler(.revoked(assigned)) }
            context.revoked(assigned)
            rd_kafka_assign(handle, nil)
        }
    }

let consumerErrorCallback:
    @convention(c) (OpaquePointer?, Int32, UnsafePointer<CChar>?, UnsafeMutableRawPointer?) -> Void = {
        handle, code, reason, _ in
        guard let handle, let context = RdKafkaClient.context(of: handle) as? ConsumerContext else { return }
        let err = rd_kafka_resp_err_t(rawValue: code)
        if err == RD_KAFKA_RESP_ERR__FATAL {
            var text = [CChar](repeating: 0, count: 512)
            var error = KafkaError(rd_kafka_fatal_error(handle, &text, text.count), context: "consumer")
            error.code = .fatal
            error.isRetryable = false
            context.logger.critical("kafka consumer fatal error", metadata: ["kafka.error": "\(error)"])
            context.fatalError.withLock { $0 = error }
            context.requestStop(drain: false)
        } else {
            context.logger.warning(
                "kafka consumer error",
                metadata: [
                    "kafka.error": "\(String(cString: rd_kafka_err2str(err)))",
                    "kafka.reason": "\(reason.map { String(cString: $0) } ?? "")",
                ])
        }
    }

import AsyncSignals
import CRdKafka
import Logging
import ServiceLifecycle
import Synchronization

/// Produces messages to Kafka and reports each one's fate.
///
/// ``send(_:)-(OutgoingMessage)`` returns only once Kafka acknowledged the message (with the
/// default configuration: written to every in-sync replica by an idempotent producer), and
/// throws otherwise: a message is never silently dropped. A dedicated thread serves librdkafka's
/// delivery reports; nothing blocks the cooperative pool.
///
/// Run it as a `Service` in the process's `ServiceGroup`, before the services that send:
/// ``run()`` waits for graceful shutdown, then flushes what is queued within
/// ``Configuration/shutdownFlushTimeout``. Sending works from `init` on, also without `run()`.
public final class KafkaProducer: Service, Sendable {
    private let configuration: Configuration
    private let client: RdKafkaClient
    private let poller: PollThread
    private let accepting = Atomic<Bool>(true)
    private let logger: Logger

    public init(configuration: Configuration, logger: Logger) throws(KafkaError) {
        self.configuration = configuration
        self.logger = logger
        let context = ProducerContext(logger: logger)
        client = try RdKafkaClient(type: RD_KAFKA_PRODUCER, properties: configuration.properties, context: context) {
            conf in
            rd_kafka_conf_set_dr_msg_cb(conf, deliveryReportCallback)
            rd_kafka_conf_set_error_cb(conf, producerErrorCallback)
        }
        poller = PollThread(client: client, name: "keel-kafka-producer")
    }

    deinit {
        poller.stop()
    }

    private var context: ProducerContext { client.context as! ProducerContext }

    /// Sends one message; returns when Kafka acknowledged it.
    public func send(_ message: OutgoingMessage) async throws(KafkaError) {
        try await send(CollectionOfOne(message))
    }

    /// Sends a set of messages and returns when Kafka acknowledged all of them; throws the first
    /// error if any failed (the others may have been written: all-or-error, not atomic).
    ///
    /// Messages with the same key on the same topic keep their order.
    public func send(_ messages: [OutgoingMessage]) async throws(KafkaError) {
        try await send(messages[...])
    }

    /// Like `send(_:)`, but stops waiting at `deadline` and throws a retryable `.timedOut` when
    /// some delivery reports have not arrived by then. The messages may still be written later:
    /// the caller must treat the outcome as unknown (a client retry may duplicate them).
    public func send(_ messages: [OutgoingMessage], deadline: ContinuousClock.Instant) async throws(KafkaError) {
        try await send(messages[...], deadline: deadline)
    }

    private func send<Messages: Collection<OutgoingMessage>>(
        _ messages: Messages, deadline: ContinuousClock.Instant? = nil
    ) async throws(KafkaError) {
        guard !messages.isEmpty else { return }
        guard accepting.load(ordering: .acquiring) else { throw .shutDown("produce") }
        let group = DeliveryGroup(count: messages.count)
        // One retain for the whole set, released by whoever completes the last message.
        let opaque = Unmanaged.passRetained(group).toOpaque()
        var queueFullDeadline: ContinuousClock.Instant?
        var index = messages.startIndex
        while index != messages.endIndex {
            let message = messages[index]
            let err = enqueue(message, opaque: opaque)
            if err == RD_KAFKA_RESP_ERR_NO_ERROR {
                index = messages.index(after: index)
                queueFullDeadline = nil
                continue
            }
            if err == RD_KAFKA_RESP_ERR__QUEUE_FULL, !Task.isCancelled {
                // The local queue drains as reports arrive; wait a little instead of failing.
                let deadline = queueFullDeadline ?? ContinuousClock.now + configuration.messageTimeout
                queueFullDeadline = deadline
                if ContinuousClock.now < deadline {
                    try? await Task.sleep(for: .milliseconds(2))
                    continue
                }
            }
            let remaining = messages.distance(from: index, to: messages.endIndex)
            if group.fail(count: remaining, error: KafkaError(err, context: "produce to \(message.topic)")) {
                Unmanaged<DeliveryGroup>.fromOpaque(opaque).release()
            }
            break
        }
        guard let deadline else {
            if let error = await group.wait() { throw error }
            return
        }
        let timer = Task {
            try await Task.sleep(until: deadline, clock: .continuous)
            group.expire(error: KafkaError(RD_KAFKA_RESP_ERR__TIMED_OUT, context: "waiting for delivery reports"))
        }
        defer { timer.cancel() }
        if let error = await group.wait() { throw error }
    }

    private func enqueue(_ message: OutgoingMessage, opaque: UnsafeMutableRawPointer) -> rd_kafka_resp_err_t {
        var headers: OpaquePointer?
        if !message.headers.isEmpty {
            headers = rd_kafka_headers_new(message.headers.count)
            for header in message.headers {
                _ = header.value.withUnsafeBytes { bytes in
                    rd_kafka_header_add(headers, header.key, -1, bytes.baseAddress, bytes.count)
                }
            }
        }
        let handle = client.handle
        let err = message.value.withUnsafeBytes { value in
            message.topic.withCString { topic in
                if let key = message.key {
                    return key.withUnsafeBytes { key in
                        keel_produce(
                            handle, topic, key.baseAddress, key.count, value.baseAddress, value.count, headers, opaque)
                    }
                }
                return keel_produce(handle, topic, nil, 0, value.baseAddress, value.count, headers, opaque)
            }
        }
        if err != RD_KAFKA_RESP_ERR_NO_ERROR, let headers { rd_kafka_headers_destroy(headers) }
        return err
    }

    /// Fetches cluster metadata (and that of `topics`, which a broker may auto-create), so the
    /// first send does not pay for connecting. Throws when the cluster is not reachable in time.
    public func waitUntilReady(timeout: Duration = .seconds(10), topics: [String] = []) async throws(KafkaError) {
        let client = self.client
        let result = await onDedicatedThread("keel-kafka-metadata") { () -> Result<Void, KafkaError> in
            let deadline = ContinuousClock.now + timeout
            if case .failure(let error) = client.metadata(allTopics: false, timeout: timeout) {
                return .failure(error)
            }
            for topic in topics {
                let remaining = max(deadline - ContinuousClock.now, .milliseconds(1))
                if case .failure(let error) = topicMetadata(client: client, topic: topic, timeout: remaining) {
                    return .failure(error)
                }
            }
            return .success(())
        }
        try result.get()
    }

    /// Whether the cluster answers a metadata request within `timeout`; for readiness probes.
    public func isReachable(timeout: Duration = .seconds(2)) async -> Bool {
        do {
            try await waitUntilReady(timeout: timeout)
            return true
        } catch {
            return false
        }
    }

    /// Keeps the producer until graceful shutdown (or cancellation), then flushes what is
    /// queued within ``Configuration/shutdownFlushTimeout`` and purges the rest, whose senders get
    /// ``KafkaError/Code/purged``. Throws when librdkafka reported a fatal error.
    public func run() async throws {
        let context = self.context
        let reason = await withTaskCancellationHandler {
            await withGracefulShutdownHandler {
                await context.stopSignal.wait()
            } onGracefulShutdown: {
                context.stopSignal.fire(.gracefulShutdown)
            }
        } onCancel: {
            context.stopSignal.fire(.cancelled)
        }
        accepting.store(false, ordering: .releasing)
        let client = self.client
        let flushTimeout = configuration.shutdownFlushTimeout
        let left = await onDedicatedThread("keel-kafka-flush") { () -> Int32 in
            rd_kafka_flush(client.handle, flushTimeout.milliseconds)
            let left = rd_kafka_outq_len(client.handle)
            if left > 0 {
                rd_kafka_purge(client.handle, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT)
                // Serve the purge reports so every waiting sender is resumed.
                rd_kafka_flush(client.handle, 1000)
            }
            return left
        }
        if left > 0 {
            logger.warning("kafka producer purged messages at shutdown", metadata: ["kafka.purged": "\(left)"])
        }
        await poller.stopAndWait()
        if case .fatal(let error) = reason { throw error }
    }
}

/// Fetches (and so may auto-create) one topic's metadata. Blocking.
func topicMetadata(client: RdKafkaClient, topic: String, timeout: Duration) -> Result<Int, KafkaError> {
    guard let topicHandle = rd_kafka_topic_new(client.handle, topic, nil) else {
        return .failure(KafkaError(rd_kafka_last_error(), context: "metadata for \(topic)"))
    }
    defer { rd_kafka_topic_destroy(topicHandle) }
    var pointer: UnsafePointer<rd_kafka_metadata>?
    let err = rd_kafka_metadata(client.handle, 0, topicHandle, &pointer, timeout.milliseconds)
    guard err == RD_KAFKA_RESP_ERR_NO_ERROR, let pointer else {
        return .failure(KafkaError(err, context: "metadata for \(topic)"))
    }
    defer { rd_kafka_metadata_destroy(pointer) }
    let metadata = ClusterMetadata(pointer.pointee)
    if let partitions = metadata.topics[topic] { return .success(partitions) }
    return .failure(
        KafkaError(metadata.topicErrors[topic] ?? RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC, context: "metadata for \(topic)"))
}

/// Why a client's `run()` stopped waiting.
enum StopReason: Sendable {
    case gracefulShutdown
    case cancelled
    case fatal(KafkaError)
}

final class ProducerContext: ClientContext, @unchecked Sendable {
    let stopSignal = OneShot<StopReason>()
}

private let deliveryReportCallback:
    @convention(c) (OpaquePointer?, UnsafePointer<rd_kafka_message_t>?, UnsafeMutableRawPointer?) -> Void = {
        _, message, _ in
        guard let message, let opaque = message.pointee._private else { return }
        let group = Unmanaged<DeliveryGroup>.fromOpaque(opaque)
        let err = message.pointee.err
        var error: KafkaError?
        if err != RD_KAFKA_RESP_ERR_NO_ERROR {
            let topic = message.pointee.rkt.map { String(cString: rd_kafka_topic_name($0)) } ?? "?"
            error = KafkaError(err, context: "produce to \(topic)")
        }
        if group.takeUnretainedValue().complete(error: error) {
            group.release()
        }
    }

private let producerErrorCallback:
    @convention(c) (OpaquePointer?, Int32, UnsafePointer<CChar>?, UnsafeMutableRawPointer?) -> Void = {
        handle, code, reason, _ in
        guard let handle, let context = RdKafkaClient.context(of: handle) as? ProducerContext else { return }
        let err = rd_kafka_resp_err_t(rawValue: code)
        let text = reason.map { String(cString: $0) } ?? ""
        if err == RD_KAFKA_RESP_ERR__FATAL {
            var original = [CChar](repeating: 0, count: 512)
            let originalErr = rd_kafka_fatal_error(handle, &original, original.count)
            var error = KafkaError(originalErr, context: "producer")
            error.code = .fatal
            error.isRetryable = false
            context.logger.critical("kafka producer fatal error", metadata: ["kafka.error": "\(error)"])
            context.stopSignal.fire(.fatal(error))
        } else {
            // Transient by nature (brokers going away and coming back); sends report their own fate.
            context.logger.warning(
                "kafka producer error",
                metadata: ["kafka.error": "\(String(cString: rd_kafka_err2str(err)))", "kafka.reason": "\(text)"])
        }
    }

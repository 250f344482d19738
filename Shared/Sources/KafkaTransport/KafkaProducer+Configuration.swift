extension KafkaProducer {
    /// How a ``KafkaProducer`` talks to Kafka. The defaults are Keel's delivery promise:
    /// idempotent, `acks=all`, and a dead cluster fails a send in bounded time.
    public struct Configuration: Sendable {
        /// Comma-separated `host:port` list (`KAFKA_BROKERS`).
        public var bootstrapServers: String
        /// `client.id`, shown in broker logs and metrics.
        public var clientID: String = "keel"
        /// `enable.idempotence`: no duplicates or reordering from internal retries. Default true.
        public var idempotence: Bool = true
        /// `acks`: `all` (default) waits for every in-sync replica.
        public var acks: String = "all"
        /// `compression.codec`: `lz4` by default.
        public var compression: String = "lz4"
        /// `linger.ms`: how long to wait to fill a batch. Default 5 ms.
        public var linger: Duration = .milliseconds(5)
        /// `queue.buffering.max.messages`: local queue bound in messages. Default 1,000,000.
        public var maxQueuedMessages: Int = 1_000_000
        /// `queue.buffering.max.kbytes`: local queue bound in KiB. Default 524,288 (512 MiB).
        public var maxQueuedKilobytes: Int = 524_288
        /// `message.timeout.ms`: a message not acknowledged within this fails with a retryable
        /// ``KafkaError/Code/timedOut``. Default 30 s.
        public var messageTimeout: Duration = .seconds(30)
        /// `request.timeout.ms`: a produce request in flight waits this long for its answer.
        /// Keep it at or below ``messageTimeout``: a message in flight is only failed when its
        /// request times out too. Default 10 s.
        public var requestTimeout: Duration = .seconds(10)
        /// `partitioner`: `murmur2_random` (default) maps keys to partitions like Kafka's Java
        /// clients do; a nil key picks a random partition.
        public var partitioner: String = "murmur2_random"
        /// How long ``KafkaProducer/run()`` waits for queued messages after graceful shutdown
        /// before purging them (their senders then get ``KafkaError/Code/purged``). Default 10 s.
        public var shutdownFlushTimeout: Duration = .seconds(10)
        /// Any other librdkafka property; wins over the fields above.
        public var additionalProperties: [String: String] = [:]

        public init(bootstrapServers: String) {
            self.bootstrapServers = bootstrapServers
        }

        /// The librdkafka properties this configuration stands for.
        var properties: [String: String] {
            var properties: [String: String] = [
                "bootstrap.servers": bootstrapServers,
                "client.id": clientID,
                "enable.idempotence": idempotence ? "true" : "false",
                "acks": acks,
                "compression.codec": compression,
                "linger.ms": "\(linger.milliseconds)",
                "queue.buffering.max.messages": "\(maxQueuedMessages)",
                "queue.buffering.max.kbytes": "\(maxQueuedKilobytes)",
                "message.timeout.ms": "\(messageTimeout.milliseconds)",
                "request.timeout.ms": "\(requestTimeout.milliseconds)",
                "partitioner": partitioner,
                // Requests go out at once rather than waiting for the previous one's ACK (Nagle).
                "socket.nagle.disable": "true",
            ]
            properties.merge(additionalProperties) { _, new in new }
            return properties
        }
    }
}

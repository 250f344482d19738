extension KafkaConsumer {
    /// Where a new consumer group starts when it has no committed offset.
    public enum OffsetReset: String, Sendable {
        case earliest, latest
    }

    /// How a ``KafkaConsumer`` joins its group and reads.
    public struct Configuration: Sendable {
        /// Comma-separated `host:port` list (`KAFKA_BROKERS`).
        public var bootstrapServers: String
        /// `group.id`: Keel names groups after the consuming service.
        public var groupID: String
        /// Topics to subscribe to; an entry starting with `^` is a regular expression
        /// (librdkafka's convention), e.g. `^keel\.deliver\..*`.
        public var topics: [String]
        /// `client.id`.
        public var clientID: String = "keel"
        /// `auto.offset.reset`: `earliest` by default, so nothing produced before the group first
        /// started is skipped.
        public var autoOffsetReset: OffsetReset = .earliest
        /// `session.timeout.ms`: a member silent this long is dropped from the group and its
        /// partitions reassigned. Also roughly how long a joining member waits. Default 45 s.
        public var sessionTimeout: Duration = .seconds(45)
        /// `heartbeat.interval.ms`; keep it well below ``sessionTimeout``. Default 3 s.
        public var heartbeatInterval: Duration = .seconds(3)
        /// `auto.commit.interval.ms`: how often stored offsets are committed. Default 5 s.
        public var autoCommitInterval: Duration = .seconds(5)
        /// `max.poll.interval.ms`: a member that does not ask for the next batch within this is
        /// considered stuck and leaves the group. Default 300 s.
        public var maxPollInterval: Duration = .seconds(300)
        /// The most messages handed out per batch. Default 500.
        public var maxBatchSize: Int = 500
        /// Batches read ahead while one is being processed. Default 1.
        public var bufferedBatches: Int = 1
        /// How long graceful shutdown waits for the batch being processed (so its offsets can
        /// still be stored and committed) before closing. Default 10 s.
        public var shutdownDrainTimeout: Duration = .seconds(10)
        /// How often librdkafka's statistics update the lag gauge `keel_kafka_consumer_lag`
        /// (`statistics.interval.ms`); `nil` turns statistics off. Default 15 s.
        public var statisticsInterval: Duration? = .seconds(15)
        /// `topic.metadata.refresh.interval.ms`: how often metadata is refreshed, which is when a
        /// pattern subscription (a topic starting with `^`) picks up topics created after the
        /// consumer started, e.g. `keel.deliver.mixpanel` once a workspace adds a Mixpanel
        /// destination. Default 10 s (librdkafka's own is 5 min, which held the router off a new
        /// destination type's jobs for minutes).
        public var metadataRefreshInterval: Duration = .seconds(10)
        /// Any other librdkafka property; wins over the fields above. Setting
        /// `partition.assignment.strategy=cooperative-sticky` is supported.
        public var additionalProperties: [String: String] = [:]

        public init(bootstrapServers: String, groupID: String, topics: [String]) {
            self.bootstrapServers = bootstrapServers
            self.groupID = groupID
            self.topics = topics
        }

        var properties: [String: String] {
            var properties: [String: String] = [
                "bootstrap.servers": bootstrapServers,
                "group.id": groupID,
                "client.id": clientID,
                "auto.offset.reset": autoOffsetReset.rawValue,
                "enable.auto.commit": "true",
                "enable.auto.offset.store": "false",
                "auto.commit.interval.ms": "\(autoCommitInterval.milliseconds)",
                "session.timeout.ms": "\(sessionTimeout.milliseconds)",
                "heartbeat.interval.ms": "\(heartbeatInterval.milliseconds)",
                "max.poll.interval.ms": "\(maxPollInterval.milliseconds)",
                "enable.partition.eof": "false",
                "statistics.interval.ms": "\(statisticsInterval?.milliseconds ?? 0)",
                "topic.metadata.refresh.interval.ms": "\(metadataRefreshInterval.milliseconds)",
                // Requests go out at once rather than waiting for the previous one's ACK (Nagle).
                "socket.nagle.disable": "true",
            ]
            properties.merge(additionalProperties) { _, new in new }
            return properties
        }
    }
}

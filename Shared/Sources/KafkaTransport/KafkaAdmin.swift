import CRdKafka
import Logging

/// Creates and lists topics. Services create the topics they use at startup.
///
/// librdkafka's mock cluster (the dev broker) has no controller and does not implement
/// CreateTopics; against it, ``createTopics(_:)`` falls back to auto-creation through a metadata
/// request, which uses the broker's default partition count (4), and logs a warning. Pre-create
/// topics with `keel-dev-kafka --topics` to choose their partition count.
public final class KafkaAdmin: Sendable {
    /// How a ``KafkaAdmin`` connects.
    public struct Configuration: Sendable {
        /// Comma-separated `host:port` list (`KAFKA_BROKERS`).
        public var bootstrapServers: String
        public var clientID: String = "keel-admin"
        /// How long one admin request may take. Default 10 s.
        public var requestTimeout: Duration = .seconds(10)
        /// Any other librdkafka property.
        public var additionalProperties: [String: String] = [:]

        public init(bootstrapServers: String) {
            self.bootstrapServers = bootstrapServers
        }
    }

    /// A topic to create.
    public struct TopicSpecification: Sendable, Hashable {
        public var name: String
        public var partitions: Int
        public var replicationFactor: Int

        public init(name: String, partitions: Int, replicationFactor: Int = 1) {
            self.name = name
            self.partitions = partitions
            self.replicationFactor = replicationFactor
        }
    }

    private let client: RdKafkaClient
    private let configuration: Configuration
    private let logger: Logger

    public init(configuration: Configuration, logger: Logger) throws(KafkaError) {
        var properties = configuration.additionalProperties
        properties["bootstrap.servers"] = configuration.bootstrapServers
        properties["client.id"] = configuration.clientID
        client = try RdKafkaClient(type: RD_KAFKA_PRODUCER, properties: properties, context: ClientContext(logger: logger))
        self.configuration = configuration
        self.logger = logger
    }

    /// Creates the topics that do not exist yet; existing topics are left as they are.
    public func createTopics(_ topics: [TopicSpecification]) async throws(KafkaError) {
        guard !topics.isEmpty else { return }
        let client = self.client
        let timeout = configuration.requestTimeout
        let logger = self.logger
        let result = await onDedicatedThread("keel-kafka-admin") { () -> Result<Void, KafkaError> in
            let metadata: ClusterMetadata
            switch client.metadata(allTopics: true, timeout: timeout) {
            case .success(let value): metadata = value
            case .failure(let error): return .failure(error)
            }
            let missing = topics.filter { metadata.topics[$0.name] == nil }
            if missing.isEmpty { return .success(()) }
            let controller = rd_kafka_controllerid(client.handle, timeout.milliseconds)
            if !metadata.brokerIDs.contains(controller) {
                logger.warning(
                    "kafka cluster has no controller (librdkafka mock cluster?): topics auto-created with the broker's default partition count",
                    metadata: ["kafka.topics": "\(missing.map(\.name))"])
                for topic in missing {
                    if case .failure(let error) = topicMetadata(client: client, topic: topic.name, timeout: timeout) {
                        return .failure(error)
                    }
                }
                return .success(())
            }
            return createTopicsBlocking(client: client, topics: missing, timeout: timeout)
        }
        try result.get()
    }

    /// Creates topics given as tuples; see ``createTopics(_:)-([TopicSpecification])``.
    public func createTopics(_ topics: [(name: String, partitions: Int, replicationFactor: Int)]) async throws(KafkaError) {
        try await createTopics(
            topics.map { TopicSpecification(name: $0.name, partitions: $0.partitions, replicationFactor: $0.replicationFactor) })
    }

    /// Every topic of the cluster with its partition count.
    public func listTopics() async throws(KafkaError) -> [String: Int] {
        let client = self.client
        let timeout = configuration.requestTimeout
        return try await onDedicatedThread("keel-kafka-admin") {
            client.metadata(allTopics: true, timeout: timeout).map(\.topics)
        }.get()
    }
}

private func createTopicsBlocking(
    client: RdKafkaClient, topics: [KafkaAdmin.TopicSpecification], timeout: Duration
) -> Result<Void, KafkaError> {
    var errorText = [CChar](repeating: 0, count: 512)
    var newTopics: [OpaquePointer?] = []
    defer { for topic in newTopics { rd_kafka_NewTopic_destroy(topic) } }
    for topic in topics {
        guard
            let newTopic = rd_kafka_NewTopic_new(
                topic.name, Int32(topic.partitions), Int32(topic.replicationFactor), &errorText, errorText.count)
        else {
            return .failure(
                KafkaError(
                    code: .invalidArgument, isRetryable: false, context: "create topic \(topic.name)",
                    reason: String(errorBuffer: errorText)))
        }
        newTopics.append(newTopic)
    }
    let options = rd_kafka_AdminOptions_new(client.handle, RD_KAFKA_ADMIN_OP_CREATETOPICS)
    defer { rd_kafka_AdminOptions_destroy(options) }
    rd_kafka_AdminOptions_set_request_timeout(options, timeout.milliseconds, &errorText, errorText.count)
    rd_kafka_AdminOptions_set_operation_timeout(options, timeout.milliseconds, &errorText, errorText.count)
    let queue = rd_kafka_queue_new(client.handle)
    defer { rd_kafka_queue_destroy(queue) }
    newTopics.withUnsafeMutableBufferPointer { buffer in
        rd_kafka_CreateTopics(client.handle, buffer.baseAddress, buffer.count, options, queue)
    }
    guard let event = rd_kafka_queue_poll(queue, timeout.milliseconds * 2 + 1000) else {
        return .failure(KafkaError(RD_KAFKA_RESP_ERR__TIMED_OUT, context: "create topics"))
    }
    defer { rd_kafka_event_destroy(event) }
    let eventErr = rd_kafka_event_error(event)
    if eventErr != RD_KAFKA_RESP_ERR_NO_ERROR {
        return .failure(KafkaError(eventErr, context: "create topics"))
    }
    guard let result = rd_kafka_event_CreateTopics_result(event) else {
        return .failure(KafkaError(RD_KAFKA_RESP_ERR__FAIL, context: "create topics"))
    }
    var count = 0
    guard let results = rd_kafka_CreateTopics_result_topics(result, &count) else { return .success(()) }
    for index in 0..<count {
        let topicResult = results[index]
        let err = rd_kafka_topic_result_error(topicResult)
        if err != RD_KAFKA_RESP_ERR_NO_ERROR, err != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS {
            let name = String(cString: rd_kafka_topic_result_name(topicResult))
            return .failure(KafkaError(err, context: "create topic \(name)"))
        }
    }
    return .success(())
}

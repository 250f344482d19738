import CRdKafka
import Logging

/// An in-memory Kafka cluster on loopback: librdkafka's mock cluster (`rdkafka_mock.h`).
///
/// It speaks the real Kafka protocol (produce, fetch, consumer groups with commits, several
/// brokers) and can inject faults. Data lives in memory and is gone with the object. For tests
/// and local runs only; production uses a real Kafka cluster. Auto-created topics get 4
/// partitions; the admin CreateTopics request is not supported (use ``createTopic(_:partitions:replicationFactor:)``).
public final class MockKafkaCluster: @unchecked Sendable {
    // @unchecked: the pointers are immutable; librdkafka's mock API locks internally.

    /// Kafka protocol request types, for ``pushRequestErrors(apiKey:errors:)``.
    public enum APIKey {
        public static let produce: Int16 = 0
        public static let fetch: Int16 = 1
        public static let listOffsets: Int16 = 2
        public static let metadata: Int16 = 3
        public static let offsetCommit: Int16 = 8
        public static let offsetFetch: Int16 = 9
        public static let findCoordinator: Int16 = 10
        public static let joinGroup: Int16 = 11
        public static let heartbeat: Int16 = 12
        public static let leaveGroup: Int16 = 13
        public static let syncGroup: Int16 = 14
        public static let initProducerID: Int16 = 22
    }

    /// Kafka protocol error codes (and librdkafka's local ones), for fault injection.
    public enum ErrorCode {
        public static let notLeaderForPartition: Int32 = RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION.rawValue
        public static let requestTimedOut: Int32 = RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT.rawValue
        public static let notEnoughReplicas: Int32 = RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS.rawValue
        public static let coordinatorNotAvailable: Int32 = RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE.rawValue
        public static let messageTooLarge: Int32 = RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE.rawValue
        /// Makes the broker drop the connection.
        public static let transport: Int32 = RD_KAFKA_RESP_ERR__TRANSPORT.rawValue
    }

    private let handle: OpaquePointer
    private let cluster: OpaquePointer
    private let context: Unmanaged<ClientContext>
    /// The `bootstrap.servers` list of the cluster's brokers.
    public let bootstrapServers: String
    /// The broker ids: 1 through the broker count.
    public let brokerIDs: [Int32]

    /// Starts a cluster of `brokers` brokers listening on random loopback ports.
    public init(brokers: Int = 3, logger: Logger = Logger(label: "keel.kafka.mock")) throws(KafkaError) {
        guard brokers >= 1 else { throw .configuration("a mock cluster needs at least one broker") }
        // The mock cluster needs an rd_kafka_t for bookkeeping; it does not connect anywhere.
        guard let conf = rd_kafka_conf_new() else { throw .configuration("cannot allocate configuration") }
        var errorText = [CChar](repeating: 0, count: 512)
        let context = Unmanaged.passRetained(ClientContext(logger: logger))
        rd_kafka_conf_set_opaque(conf, context.toOpaque())
        rd_kafka_conf_set_log_cb(conf, mockLogCallback)
        // The brokers' sockets take this handle's settings. With Nagle's algorithm on, a response
        // written in more than one piece waits for the client's delayed ACK: every produce or
        // fetch answer of more than a few messages then took ~40 ms longer (measured 48 ms vs
        // 5.5 ms per produce round trip with linger 5 ms). Kafka's own brokers set TCP_NODELAY.
        rd_kafka_conf_set(conf, "socket.nagle.disable", "true", &errorText, errorText.count)
        guard let handle = rd_kafka_new(RD_KAFKA_PRODUCER, conf, &errorText, errorText.count) else {
            rd_kafka_conf_destroy(conf)
            context.release()
            throw .configuration("cannot create mock cluster handle: \(String(errorBuffer: errorText))")
        }
        guard let cluster = rd_kafka_mock_cluster_new(handle, Int32(brokers)) else {
            rd_kafka_destroy(handle)
            context.release()
            throw KafkaError(code: .other, isRetryable: false, context: "mock cluster", reason: "cannot start")
        }
        self.handle = handle
        self.cluster = cluster
        self.context = context
        bootstrapServers = String(cString: rd_kafka_mock_cluster_bootstraps(cluster))
        brokerIDs = (1...Int32(brokers)).map { $0 }
    }

    deinit {
        rd_kafka_mock_cluster_destroy(cluster)
        rd_kafka_destroy(handle)
        context.release()
    }

    /// Creates a topic (fails if it exists).
    public func createTopic(_ name: String, partitions: Int, replicationFactor: Int = 1) throws(KafkaError) {
        let err = rd_kafka_mock_topic_create(cluster, name, Int32(partitions), Int32(replicationFactor))
        if err != RD_KAFKA_RESP_ERR_NO_ERROR { throw KafkaError(err, context: "create topic \(name)") }
    }

    /// Disconnects broker `id` and refuses new connections (no leader change).
    public func brokerDown(_ id: Int32) throws(KafkaError) {
        try check(rd_kafka_mock_broker_set_down(cluster, id), "broker \(id) down")
    }

    /// Lets broker `id` accept connections again.
    public func brokerUp(_ id: Int32) throws(KafkaError) {
        try check(rd_kafka_mock_broker_set_up(cluster, id), "broker \(id) up")
    }

    /// Takes every broker down.
    public func allBrokersDown() {
        for id in brokerIDs { _ = rd_kafka_mock_broker_set_down(cluster, id) }
    }

    /// Brings every broker back.
    public func allBrokersUp() {
        for id in brokerIDs { _ = rd_kafka_mock_broker_set_up(cluster, id) }
    }

    /// The next `errors.count` requests of type `apiKey` (see ``APIKey``) fail with these
    /// Kafka error codes (see ``ErrorCode``), in order.
    public func pushRequestErrors(apiKey: Int16, errors: [Int32]) {
        let codes = errors.map { rd_kafka_resp_err_t(rawValue: $0) }
        codes.withUnsafeBufferPointer { buffer in
            rd_kafka_mock_push_request_errors_array(cluster, apiKey, buffer.count, buffer.baseAddress)
        }
    }

    /// Drops the errors still pushed for `apiKey`.
    public func clearRequestErrors(apiKey: Int16) {
        rd_kafka_mock_clear_request_errors(cluster, apiKey)
    }

    /// Moves the leadership of a partition to broker `id` (-1: no leader).
    public func setPartitionLeader(topic: String, partition: Int32, broker id: Int32) throws(KafkaError) {
        try check(rd_kafka_mock_partition_set_leader(cluster, topic, partition, id), "set leader of \(topic)")
    }

    /// Delays every response of broker `id` (-1: all) by `rtt`.
    public func setRoundTripTime(_ rtt: Duration, broker id: Int32 = -1) throws(KafkaError) {
        try check(rd_kafka_mock_broker_set_rtt(cluster, id, rtt.milliseconds), "set rtt")
    }

    private func check(_ err: rd_kafka_resp_err_t, _ context: String) throws(KafkaError) {
        if err != RD_KAFKA_RESP_ERR_NO_ERROR { throw KafkaError(err, context: context) }
    }
}

private let mockLogCallback: @convention(c) (OpaquePointer?, Int32, UnsafePointer<CChar>?, UnsafePointer<CChar>?) -> Void = {
    handle, level, _, message in
    guard let handle, let opaque = rd_kafka_opaque(handle) else { return }
    let logger = Unmanaged<ClientContext>.fromOpaque(opaque).takeUnretainedValue().logger
    // The bookkeeping handle warns that it has no bootstrap servers; that is expected.
    logger.log(level: level <= 3 ? .warning : .debug, "\(message.map { String(cString: $0) } ?? "")")
}

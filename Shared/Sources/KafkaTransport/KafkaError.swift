import CRdKafka

/// An error from the Kafka transport.
///
/// Decide what to do from ``code`` and ``isRetryable``, never from ``description``. The
/// description is safe to log or show: it names the operation, the topic and librdkafka's
/// message for the error code, never a payload, key or configuration value.
public struct KafkaError: Error, Sendable, CustomStringConvertible {
    /// What kind of failure this is. Extensible: new codes may be added.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Value: Hashable, Sendable {
            case timedOut, brokerUnavailable, queueFull, messageTooLarge, unknownTopic, unknownPartition
            case fatal, configuration, shutDown, purged, notAssigned, topicAlreadyExists, invalidArgument
            case authentication, unsupported, other
        }
        private let value: Value
        private init(_ value: Value) { self.value = value }

        /// A request or a message did not complete in time (`message.timeout.ms`, `request.timeout.ms`).
        public static let timedOut = Code(.timedOut)
        /// No broker could be reached, or the partition has no leader right now.
        public static let brokerUnavailable = Code(.brokerUnavailable)
        /// The local producer queue is full (`queue.buffering.max.*`) and did not drain in time.
        public static let queueFull = Code(.queueFull)
        /// The message is larger than `message.max.bytes` (client) or the broker's limit.
        public static let messageTooLarge = Code(.messageTooLarge)
        /// The topic does not exist (and was not auto-created).
        public static let unknownTopic = Code(.unknownTopic)
        /// The partition does not exist.
        public static let unknownPartition = Code(.unknownPartition)
        /// librdkafka raised a fatal error (e.g. the idempotent producer lost its guarantees);
        /// the client must be recreated.
        public static let fatal = Code(.fatal)
        /// A configuration property was rejected.
        public static let configuration = Code(.configuration)
        /// The client is shutting down or was shut down.
        public static let shutDown = Code(.shutDown)
        /// The message was purged from the queue before delivery (shutdown deadline passed).
        public static let purged = Code(.purged)
        /// The partition is not (or no longer) assigned to this consumer.
        public static let notAssigned = Code(.notAssigned)
        /// The topic already exists (``KafkaAdmin`` ignores it).
        public static let topicAlreadyExists = Code(.topicAlreadyExists)
        /// An argument was invalid (e.g. an unknown broker id).
        public static let invalidArgument = Code(.invalidArgument)
        /// Authentication or authorization failed.
        public static let authentication = Code(.authentication)
        /// The broker does not support the request.
        public static let unsupported = Code(.unsupported)
        /// Anything else; see ``KafkaError/librdkafkaCode``.
        public static let other = Code(.other)

        public var description: String { "\(value)" }
    }

    /// What kind of failure this is.
    public var code: Code
    /// Whether retrying the same operation later may succeed.
    public var isRetryable: Bool
    /// librdkafka's `rd_kafka_resp_err_t`, when the error came from librdkafka.
    public var librdkafkaCode: Int32?
    /// What was being done, e.g. "produce to keel.ingest". Never contains payloads.
    public var context: String
    /// A safe human-readable reason.
    public var reason: String

    public init(code: Code, isRetryable: Bool, context: String, reason: String, librdkafkaCode: Int32? = nil) {
        self.code = code
        self.isRetryable = isRetryable
        self.context = context
        self.reason = reason
        self.librdkafkaCode = librdkafkaCode
    }

    public var description: String {
        var text = "KafkaError.\(code): \(context): \(reason)"
        if let librdkafkaCode { text += " (librdkafka \(librdkafkaCode))" }
        if isRetryable { text += " [retryable]" }
        return text
    }
}

extension KafkaError {
    /// An error from a librdkafka response code.
    init(_ err: rd_kafka_resp_err_t, context: String) {
        let code = Self.code(for: err)
        self.init(
            code: code,
            isRetryable: Self.isRetryable(err, code: code),
            context: context,
            reason: String(cString: rd_kafka_err2str(err)),
            librdkafkaCode: err.rawValue
        )
    }

    /// An error from a librdkafka `rd_kafka_error_t`, which knows whether it is retriable and
    /// fatal. Does not destroy `error`.
    init(error: OpaquePointer, context: String) {
        let err = rd_kafka_error_code(error)
        var code = Self.code(for: err)
        if rd_kafka_error_is_fatal(error) != 0 { code = .fatal }
        self.init(
            code: code,
            isRetryable: rd_kafka_error_is_retriable(error) != 0 || Self.isRetryable(err, code: code),
            context: context,
            reason: String(cString: rd_kafka_err2str(err)),
            librdkafkaCode: err.rawValue
        )
    }

    static func configuration(_ reason: String) -> KafkaError {
        KafkaError(code: .configuration, isRetryable: false, context: "configuration", reason: reason)
    }

    static func shutDown(_ context: String) -> KafkaError {
        KafkaError(code: .shutDown, isRetryable: false, context: context, reason: "the client is shut down")
    }

    static func code(for err: rd_kafka_resp_err_t) -> Code {
        switch err {
        case RD_KAFKA_RESP_ERR__TIMED_OUT, RD_KAFKA_RESP_ERR__MSG_TIMED_OUT, RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT,
            RD_KAFKA_RESP_ERR__TIMED_OUT_QUEUE, RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS,
            RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND:
            return .timedOut
        case RD_KAFKA_RESP_ERR__TRANSPORT, RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN, RD_KAFKA_RESP_ERR__RESOLVE,
            RD_KAFKA_RESP_ERR_BROKER_NOT_AVAILABLE, RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE,
            RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION, RD_KAFKA_RESP_ERR__WAIT_COORD,
            RD_KAFKA_RESP_ERR_NOT_COORDINATOR, RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE,
            RD_KAFKA_RESP_ERR_NETWORK_EXCEPTION, RD_KAFKA_RESP_ERR__NODE_UPDATE:
            return .brokerUnavailable
        case RD_KAFKA_RESP_ERR__QUEUE_FULL:
            return .queueFull
        case RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE, RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE:
            return .messageTooLarge
        case RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC, RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART:
            return .unknownTopic
        case RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION:
            return .unknownPartition
        case RD_KAFKA_RESP_ERR__FATAL:
            return .fatal
        case RD_KAFKA_RESP_ERR__INVALID_ARG, RD_KAFKA_RESP_ERR_INVALID_PARTITIONS,
            RD_KAFKA_RESP_ERR_INVALID_REPLICATION_FACTOR, RD_KAFKA_RESP_ERR_TOPIC_EXCEPTION,
            RD_KAFKA_RESP_ERR__UNKNOWN_BROKER:
            return .invalidArgument
        case RD_KAFKA_RESP_ERR__DESTROY:
            return .shutDown
        case RD_KAFKA_RESP_ERR__PURGE_QUEUE, RD_KAFKA_RESP_ERR__PURGE_INFLIGHT:
            return .purged
        case RD_KAFKA_RESP_ERR__STATE, RD_KAFKA_RESP_ERR_ILLEGAL_GENERATION, RD_KAFKA_RESP_ERR_UNKNOWN_MEMBER_ID,
            RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS:
            return .notAssigned
        case RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS:
            return .topicAlreadyExists
        case RD_KAFKA_RESP_ERR__AUTHENTICATION, RD_KAFKA_RESP_ERR_SASL_AUTHENTICATION_FAILED,
            RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED, RD_KAFKA_RESP_ERR_GROUP_AUTHORIZATION_FAILED,
            RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED:
            return .authentication
        case RD_KAFKA_RESP_ERR__UNSUPPORTED_FEATURE, RD_KAFKA_RESP_ERR_UNSUPPORTED_VERSION:
            return .unsupported
        default:
            return .other
        }
    }

    /// Retryable by class: time-outs, unreachable or moving brokers, a full local queue and
    /// purges (nothing was written) may succeed later; everything else needs a change first.
    static func isRetryable(_ err: rd_kafka_resp_err_t, code: Code) -> Bool {
        switch code {
        case .timedOut, .brokerUnavailable, .queueFull, .purged:
            return true
        case .unknownTopic:
            // A just-created topic may not have propagated yet.
            return err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART
        default:
            return false
        }
    }
}

import CRdKafka
import Foundation
import Logging

/// Owns one `rd_kafka_t` and the context its callbacks see. Destroys the handle when the last
/// reference goes away (which may block briefly: do not drop the last reference on the
/// cooperative pool when messages may still be queued).
final class RdKafkaClient: @unchecked Sendable {
    // @unchecked: `handle` is immutable and librdkafka's API is thread-safe.
    let handle: OpaquePointer
    let context: ClientContext
    private let retainedContext: Unmanaged<ClientContext>

    /// Creates a client of `type` with `properties`. `configure` may install callbacks on the
    /// configuration before the handle is created.
    init(
        type: rd_kafka_type_t,
        properties: [String: String],
        context: ClientContext,
        configure: (OpaquePointer) -> Void = { _ in }
    ) throws(KafkaError) {
        guard let conf = rd_kafka_conf_new() else { throw .configuration("cannot allocate configuration") }
        var errorText = [CChar](repeating: 0, count: 512)
        for (key, value) in properties.sorted(by: { $0.key < $1.key }) {
            let result = rd_kafka_conf_set(conf, key, value, &errorText, errorText.count)
            if result != RD_KAFKA_CONF_OK {
                rd_kafka_conf_destroy(conf)
                // librdkafka's text may repeat the value (a password): name only the property.
                throw .configuration(
                    result == RD_KAFKA_CONF_UNKNOWN
                        ? "unknown configuration property \(key)" : "invalid value for configuration property \(key)")
            }
        }
        let retained = Unmanaged.passRetained(context)
        rd_kafka_conf_set_opaque(conf, retained.toOpaque())
        rd_kafka_conf_set_log_cb(conf, logCallback)
        configure(conf)
        // rd_kafka_new takes ownership of conf on success only.
        guard let handle = rd_kafka_new(type, conf, &errorText, errorText.count) else {
            rd_kafka_conf_destroy(conf)
            retained.release()
            throw .configuration("cannot create client: \(String(errorBuffer: errorText))")
        }
        self.handle = handle
        self.context = context
        self.retainedContext = retained
    }

    deinit {
        rd_kafka_destroy(handle)
        retainedContext.release()
    }

    /// The context installed as the handle's opaque.
    static func context(of handle: OpaquePointer?) -> ClientContext? {
        guard let handle, let opaque = rd_kafka_opaque(handle) else { return nil }
        return Unmanaged<ClientContext>.fromOpaque(opaque).takeUnretainedValue()
    }

    /// Broker ids and the cluster's topics (only the locally known ones unless `allTopics`).
    func metadata(allTopics: Bool, timeout: Duration) -> Result<ClusterMetadata, KafkaError> {
        var pointer: UnsafePointer<rd_kafka_metadata>?
        let err = rd_kafka_metadata(handle, allTopics ? 1 : 0, nil, &pointer, timeout.milliseconds)
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR, let pointer else {
            return .failure(KafkaError(err, context: "fetch metadata"))
        }
        defer { rd_kafka_metadata_destroy(pointer) }
        return .success(ClusterMetadata(pointer.pointee))
    }
}

/// What a metadata request returned.
struct ClusterMetadata: Sendable {
    var brokerIDs: [Int32]
    var topics: [String: Int]
    var topicErrors: [String: rd_kafka_resp_err_t]

    init(_ metadata: rd_kafka_metadata) {
        brokerIDs = (0..<Int(metadata.broker_cnt)).map { metadata.brokers[$0].id }
        var topics: [String: Int] = [:]
        var errors: [String: rd_kafka_resp_err_t] = [:]
        for index in 0..<Int(metadata.topic_cnt) {
            let topic = metadata.topics[index]
            let name = String(cString: topic.topic)
            if topic.err == RD_KAFKA_RESP_ERR_NO_ERROR {
                topics[name] = Int(topic.partition_cnt)
            } else {
                errors[name] = topic.err
            }
        }
        self.topics = topics
        self.topicErrors = errors
    }
}

/// What librdkafka's callbacks can reach: the logger and a label for log lines. Subclasses add
/// per-client state (see the consumer).
class ClientContext: @unchecked Sendable {
    // @unchecked: immutable after init; subclasses guard their own mutable state.
    let logger: Logger

    init(logger: Logger) {
        self.logger = logger
    }
}

private let logCallback: @convention(c) (OpaquePointer?, Int32, UnsafePointer<CChar>?, UnsafePointer<CChar>?) -> Void = {
    handle, level, facility, message in
    guard let context = RdKafkaClient.context(of: handle) else { return }
    let logLevel: Logger.Level
    switch level {
    case ...3: logLevel = .error  // emerg, alert, crit, err
    case 4: logLevel = .warning
    case 5, 6: logLevel = .info
    default: logLevel = .debug
    }
    // librdkafka notices are chatty at info; keep them at debug unless they are warnings.
    let effective: Logger.Level = logLevel == .info ? .debug : logLevel
    context.logger.log(
        level: effective,
        "\(message.map { String(cString: $0) } ?? "")",
        metadata: ["kafka.facility": "\(facility.map { String(cString: $0) } ?? "")"]
    )
}

extension Duration {
    /// Whole milliseconds, clamped to Int32 (librdkafka's timeout type).
    var milliseconds: Int32 {
        let (seconds, attoseconds) = components
        let value = seconds * 1000 + attoseconds / 1_000_000_000_000_000
        return Int32(clamping: value)
    }
}

/// Runs `body` on a new dedicated thread, so blocking librdkafka calls never occupy the
/// cooperative pool, and returns its result.
func onDedicatedThread<T: Sendable>(_ name: String, _ body: @escaping @Sendable () -> T) async -> T {
    await withCheckedContinuation { continuation in
        let thread = Thread {
            continuation.resume(returning: body())
        }
        thread.name = name
        thread.start()
    }
}

extension String {
    /// The NUL-terminated text in a C error buffer.
    init(errorBuffer: [CChar]) {
        let bytes = errorBuffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
        self.init(decoding: bytes, as: UTF8.self)
    }
}

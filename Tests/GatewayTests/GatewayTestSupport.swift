import CZlib
import EventModel
import GatewayService
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import KafkaTransport
import Logging
import Metrics
import Synchronization
import WorkspaceConfig
import XCTest

/// A running gateway wired like production: a real `KafkaProducer` against an in-process
/// `MockKafkaCluster`, and a real `KafkaConsumer` reading `keel.ingest` back.
final class GatewayHarness: Sendable {
    let cluster: MockKafkaCluster
    let producer: KafkaProducer
    let consumer: KafkaConsumer
    let topic: String
    let prefix: String
    /// The producer's message timeout and the gateway's `ackTimeout`, set together as in `main`.
    let ackTimeout: Duration
    /// Records by position on the topic: a consumer re-reading an offset after a rebalance (its
    /// at-least-once replay) is not a second copy on the topic.
    private let received = Mutex<(messages: [ConsumedMessage], positions: Set<String>)>(([], []))

    static let workspace = Workspace(
        id: "acme",
        sources: [
            Source(id: "web", name: "Website", writeKey: "wk-web"),
            Source(id: "off", name: "Old app", writeKey: "wk-off", enabled: false),
            Source(id: "hooks", name: "Billing webhook", writeKey: "wk-hook", type: .webhook),
            Source(id: "slow", name: "Limited", writeKey: "wk-slow", rateLimit: 2),
        ]
    )

    init(brokers: Int = 1, ackTimeout: Duration = .seconds(10)) throws {
        self.ackTimeout = ackTimeout
        cluster = try MockKafkaCluster(brokers: brokers, logger: Logger(label: "test.kafka.mock"))
        prefix = "t\(UInt32.random(in: 0...UInt32.max))."
        topic = Topics(prefix: prefix).ingest
        try cluster.createTopic(topic, partitions: 2, replicationFactor: min(brokers, 3))
        var producerConfiguration = KafkaProducer.Configuration(bootstrapServers: cluster.bootstrapServers)
        producerConfiguration.messageTimeout = ackTimeout
        producerConfiguration.requestTimeout = ackTimeout
        producerConfiguration.linger = .milliseconds(1)
        producerConfiguration.shutdownFlushTimeout = .seconds(1)
        producer = try KafkaProducer(configuration: producerConfiguration, logger: Logger(label: "test.producer"))
        var consumerConfiguration = KafkaConsumer.Configuration(
            bootstrapServers: cluster.bootstrapServers, groupID: "gateway-test", topics: [topic])
        consumerConfiguration.sessionTimeout = .seconds(6)
        consumerConfiguration.heartbeatInterval = .milliseconds(500)
        consumerConfiguration.shutdownDrainTimeout = .milliseconds(200)
        consumer = try KafkaConsumer(configuration: consumerConfiguration, logger: Logger(label: "test.consumer"))
    }

    /// Runs the producer, the consumer and a gateway; `body` gets a client for it.
    func run(
        sources: any SourceDirectory = StaticSourceDirectory(workspace: GatewayHarness.workspace),
        configure: (inout GatewayConfiguration) -> Void = { _ in },
        metrics: (any MetricsFactory)? = nil,
        testing: TestingSetup = .router,
        _ body: @Sendable (any TestClientProtocol) async throws -> Void
    ) async throws {
        var configuration = GatewayConfiguration()
        configuration.topicPrefix = prefix
        configuration.port = 0
        configuration.host = "127.0.0.1"
        configuration.ackTimeout = ackTimeout
        configure(&configuration)
        let app = buildGateway(
            configuration: configuration, producer: producer, sources: sources, logger: Logger(label: "test.gateway"),
            metrics: metrics)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await self.producer.run() }
            group.addTask { try await self.consumer.run() }
            group.addTask {
                for await batch in self.consumer.messages {
                    self.received.withLock { received in
                        for message in batch where received.positions.insert("\(message.partition)@\(message.offset)").inserted {
                            received.messages.append(message)
                        }
                    }
                    self.consumer.storeOffsets(batch)
                }
            }
            defer { group.cancelAll() }
            try await app.test(testing) { client in try await body(client) }
        }
    }

    /// Waits until at least `count` records arrived (up to `timeout`), then returns all of them.
    func records(atLeast count: Int, timeout: Duration = .seconds(20)) async throws -> [IngestedRecord] {
        let deadline = ContinuousClock.now + timeout
        while received.withLock({ $0.messages.count }) < count, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(25))
        }
        return try received.withLock { $0.messages }.map(IngestedRecord.init)
    }

    /// Every record received so far, after waiting `settle` for stragglers.
    func allRecords(settle: Duration = .milliseconds(600)) async throws -> [IngestedRecord] {
        try await Task.sleep(for: settle)
        return try received.withLock { $0.messages }.map(IngestedRecord.init)
    }
}

/// One record read back from the ingest topic.
struct IngestedRecord {
    var key: String
    var workspaceId: String
    var sourceId: String
    var event: JSON

    init(_ message: ConsumedMessage) throws {
        key = String(decoding: message.key ?? [], as: UTF8.self)
        let record = try JSON(parsing: message.value)
        workspaceId = try XCTUnwrap(record["workspaceId"]?.stringValue)
        sourceId = try XCTUnwrap(record["sourceId"]?.stringValue)
        event = try XCTUnwrap(record["event"])
        // The envelope must also read with the shared model.
        _ = try IngestRecord(parsing: message.value)
    }

    subscript(_ key: String) -> String? { event[key]?.stringValue }
}

/// Request helpers.
enum Req {
    static func basic(_ writeKey: String) -> String {
        "Basic " + base64(Array((writeKey + ":").utf8))
    }

    static func headers(writeKey: String?, _ extra: HTTPFields = [:]) -> HTTPFields {
        var headers = extra
        if let writeKey { headers[.authorization] = basic(writeKey) }
        if headers[.contentType] == nil { headers[.contentType] = "application/json" }
        return headers
    }

    static func body(_ text: String) -> ByteBuffer { ByteBuffer(string: text) }

    static func text(_ response: TestResponse) -> String { String(buffer: response.body) }

    static func base64(_ bytes: [UInt8]) -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
        var out = ""
        var index = 0
        while index < bytes.count {
            let chunk = bytes[index..<min(index + 3, bytes.count)]
            var value = 0
            for (offset, byte) in chunk.enumerated() { value |= Int(byte) << (16 - 8 * offset) }
            for position in 0..<4 {
                out.append(position <= chunk.count ? alphabet[(value >> (18 - 6 * position)) & 0x3F] : "=")
            }
            index += 3
        }
        return out
    }

    /// gzip with zlib (the test's own compressor, independent of the gateway's inflater).
    static func gzip(_ input: [UInt8]) -> [UInt8] {
        var stream = z_stream()
        deflateInit2_(&stream, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
        defer { deflateEnd(&stream) }
        var output = [UInt8](repeating: 0, count: Int(deflateBound(&stream, uLong(input.count))) + 32)
        var input = input
        let produced = input.withUnsafeMutableBufferPointer { inBuffer in
            output.withUnsafeMutableBufferPointer { outBuffer in
                stream.next_in = inBuffer.baseAddress
                stream.avail_in = uInt(inBuffer.count)
                stream.next_out = outBuffer.baseAddress
                stream.avail_out = uInt(outBuffer.count)
                deflate(&stream, Z_FINISH)
                return outBuffer.count - Int(stream.avail_out)
            }
        }
        return Array(output[0..<produced])
    }
}

/// A source directory whose content a test changes while the gateway runs, standing in for
/// configuration reloads.
final class MutableSourceDirectory: SourceDirectory {
    private let sources = Mutex<[String: GatewaySource]>([:])

    func set(_ list: [GatewaySource]) {
        sources.withLock { $0 = Dictionary(uniqueKeysWithValues: list.map { ($0.writeKey, $0) }) }
    }

    func source(writeKey: String) -> GatewaySource? {
        sources.withLock { $0[writeKey] }
    }
}

import CoreMetrics
import Destinations
import EventModel
import Foundation
import KafkaTransport
import Logging
import PostgresNIO
import ProcessorService
import ServiceLifecycle
import Storage
import StorageTesting
import Synchronization
import WorkspaceConfig
import XCTest

enum TestSupport {
    static let logger: Logger = {
        var logger = Logger(label: "keel.processor.test")
        logger.logLevel = ProcessInfo.processInfo.environment["KEEL_TEST_LOG"] == "1" ? .debug : .critical
        return logger
    }()

    static let workspaceYAML = """
        workspace: acme
        sources:
          - id: web
            writeKey: wk-web
        destinations:
          - id: hook
            name: Hook
            type: webhook
            config:
              url: https://hooks.example.com/in
          - id: cio
            name: CIO
            type: customerio
            config:
              siteId: site-1
              apiKey: cio-key
          - id: ga
            name: GA
            type: ga4
            config:
              measurementId: G-TEST
              apiSecret: ga-secret
          - id: js
            name: JS
            type: webhook
            transformation: t1
            config:
              url: https://js.example.com
        transformations:
          - id: t1
            code: "export function transformEvent(event) { return event; }"
        connections:
          - source: web
            destinations: [hook, cio, ga, js]
        """

    /// Stores the workspace in `keel_config` (as `keel apply` does).
    static func applyWorkspace(_ database: Database, yaml: String = workspaceYAML) async throws {
        let repository = ConfigRepository(database: database)
        try await repository.migrate(logger: logger)
        _ = try await repository.apply(try WorkspaceParser().parse(yaml: yaml), logger: logger)
    }

    static func event(_ index: Int, user: Int) -> JSON {
        [
            "type": "track", "event": "Order Completed", "messageId": .string("msg-\(index)"),
            "userId": .string("user-\(user)"), "anonymousId": .string("anon-\(user)"),
            "receivedAt": "2026-11-29T12:00:05.000Z", "sentAt": "2026-11-29T12:00:02.000Z",
            "originalTimestamp": "2026-11-29T12:00:01.000Z",
            "properties": ["order_id": .string("o-\(index)"), "revenue": 10, "products": [["product_id": "p1", "name": "Mug"]]],
        ]
    }

    static func ingestMessage(_ event: JSON, topics: Topics = Topics()) -> OutgoingMessage {
        let record = IngestRecord(workspaceId: "acme", sourceId: "web", event: event)
        return OutgoingMessage(
            topic: topics.ingest, key: Array(MessageKey.ingest(workspaceId: "acme", event: event).utf8), value: record.serialized())
    }

    static func producerConfiguration(_ cluster: MockKafkaCluster) -> KafkaProducer.Configuration {
        var configuration = KafkaProducer.Configuration(bootstrapServers: cluster.bootstrapServers)
        tuneProducer(&configuration)
        return configuration
    }

    static func tuneProducer(_ configuration: inout KafkaProducer.Configuration) {
        configuration.messageTimeout = .seconds(10)
        configuration.requestTimeout = .seconds(5)
        configuration.shutdownFlushTimeout = .seconds(3)
    }

    static func tuneConsumer(_ configuration: inout KafkaConsumer.Configuration) {
        configuration.sessionTimeout = .seconds(3)
        configuration.heartbeatInterval = .milliseconds(300)
        configuration.autoCommitInterval = .milliseconds(200)
        configuration.metadataRefreshInterval = .seconds(1)
    }
}

/// A processor built with `buildProcessor`, running in its own `ServiceGroup`.
final class RunningProcessor: Sendable {
    let parts: ProcessorParts
    let group: ServiceGroup
    let task: Task<Void, any Error>

    init(
        cluster: MockKafkaCluster, database: Database, batchSize: Int = 500, metrics: any MetricsFactory = MetricsSystem.factory,
        configure: (inout ProcessorConfiguration) -> Void = { _ in }
    ) throws {
        var configuration = ProcessorConfiguration(kafkaBrokers: cluster.bootstrapServers)
        configuration.maxBatchSize = batchSize
        configure(&configuration)
        let secrets = SecretResolver(environment: [:])
        let configStore = ConfigStore(
            database: database, configuration: .init(workspace: "acme"), secrets: secrets, logger: TestSupport.logger)
        parts = try buildProcessor(
            configuration: configuration, database: database, configStore: configStore, secrets: secrets,
            metricsFactory: metrics, tuneConsumer: TestSupport.tuneConsumer, tuneProducer: TestSupport.tuneProducer,
            logger: TestSupport.logger)
        let group = ServiceGroup(services: parts.services, logger: TestSupport.logger)
        self.group = group
        task = Task { try await group.run() }
    }

    /// Graceful stop: the batch in hand finishes and its offsets are committed.
    func stop() async {
        await group.triggerGracefulShutdown()
        _ = try? await task.value
    }

    /// Abrupt stop: cancellation, as close to a crash as a test in one process gets.
    func kill() async {
        task.cancel()
        _ = try? await task.value
    }
}

/// Reads topics with a fresh consumer group until `done` holds or `timeout` passes; returns what
/// was read either way.
func readTopics(
    _ cluster: MockKafkaCluster, _ topics: [String], timeout: Duration = .seconds(40),
    until done: @escaping @Sendable ([ConsumedMessage]) -> Bool
) async throws -> [ConsumedMessage] {
    var configuration = KafkaConsumer.Configuration(
        bootstrapServers: cluster.bootstrapServers, groupID: "reader-\(UInt32.random(in: 0...UInt32.max))", topics: topics)
    TestSupport.tuneConsumer(&configuration)
    let consumer = try KafkaConsumer(configuration: configuration, logger: TestSupport.logger)
    let running = Task { try await consumer.run() }
    let box = Mutex<[ConsumedMessage]>([])
    let reader = Task {
        for await batch in consumer.messages {
            let finished = box.withLock { all -> Bool in
                all += batch
                return done(all)
            }
            if finished { break }
        }
    }
    let timer = Task {
        try? await Task.sleep(for: timeout)
        running.cancel()  // ends `messages`, so the reader returns
    }
    await reader.value
    timer.cancel()
    running.cancel()
    _ = try? await running.value
    return box.withLock { $0 }
}

import BatchRouterService
import EventModel
import Foundation
import KafkaTransport
import Logging
import ServiceLifecycle
import ServiceRuntime
import Storage
import StorageTesting
import WorkspaceConfig
import XCTest

/// A batch-router built by `buildBatchRouter` (as `main` builds it), on a mock Kafka cluster and a
/// test database, running in its own task.
final class RunningBatchRouter: Sendable {
    let group: ServiceGroup
    let task: Task<Void, any Error>
    let metrics = MetricsRegistry()

    init(
        cluster: MockKafkaCluster, database: TestDatabase, maxRows: Int = 100_000,
        afterFlush: BatchRouter.FlushHook? = nil
    ) throws {
        let configuration = try RuntimeConfiguration(service: .batchRouter, environment: [
            "KEEL_DATABASE_URL": database.url, "KAFKA_BROKERS": cluster.bootstrapServers, "KEEL_ADMIN_PORT": "0",
            "KEEL_ADMIN_HOST": "127.0.0.1", "KEEL_WORKSPACE": "acme",
        ])
        var settings = BatchRouterSettings()
        settings.tick = .milliseconds(100)
        settings.retryDelay = .milliseconds(200)
        settings.maxRowsPerFlush = maxRows
        settings.kafkaProperties = [
            "session.timeout.ms": "3000", "heartbeat.interval.ms": "300", "auto.commit.interval.ms": "200",
            "topic.metadata.refresh.interval.ms": "1000",
        ]
        group = try buildBatchRouter(
            configuration: configuration, settings: settings, secrets: SecretResolver(environment: ["TEST_S3_SECRET": "moto-secret"]),
            logger: TestSupport.logger, metrics: metrics, afterFlush: afterFlush)
        let group = self.group
        task = Task { try await group.run() }
    }

    /// The Prometheus text of the router's metrics.
    var metricsText: String {
        var buffer: [UInt8] = []
        metrics.emit(into: &buffer)
        return String(decoding: buffer, as: UTF8.self)
    }

    func stop() async {
        await group.triggerGracefulShutdown()
        _ = try? await task.value
    }

    /// Cancellation: as close to a crash as a test in one process gets.
    func kill() async {
        task.cancel()
        _ = try? await task.value
    }
}

enum BatchTestKafka {
    static func cluster() throws -> MockKafkaCluster {
        let cluster = try MockKafkaCluster(brokers: 1, logger: TestSupport.logger)
        try cluster.createTopic("keel.batch", partitions: 2)
        return cluster
    }

    static func producer(_ cluster: MockKafkaCluster) throws -> (KafkaProducer, Task<Void, any Error>) {
        var configuration = KafkaProducer.Configuration(bootstrapServers: cluster.bootstrapServers)
        configuration.messageTimeout = .seconds(10)
        configuration.requestTimeout = .seconds(5)
        configuration.shutdownFlushTimeout = .seconds(3)
        let producer = try KafkaProducer(configuration: configuration, logger: TestSupport.logger)
        return (producer, Task { try await producer.run() })
    }

    /// BatchRows as the processor writes them to `keel.batch`.
    static func messages(_ events: [JSON], source: String = "web", destination: String, type: String) -> [OutgoingMessage] {
        events.map { event in
            let row = BatchRowValue(
                sourceId: source, destinationId: destination, destinationType: type, event: event)
            let user = event["anonymousId"]?.stringValue ?? event["userId"]?.stringValue ?? ""
            return OutgoingMessage(topic: "keel.batch", key: Array("\(destination):\(user)".utf8), value: row.serialized())
        }
    }

    /// Stores the workspace in `keel_config` (as `keel apply` does).
    static func apply(_ yaml: String, to database: Database) async throws {
        let repository = ConfigRepository(database: database)
        try await repository.migrate(logger: TestSupport.logger)
        _ = try await repository.apply(try WorkspaceParser().parse(yaml: yaml), logger: TestSupport.logger)
    }
}

/// The `keel.batch` value (docs/architecture.md, "BatchRow").
struct BatchRowValue {
    var sourceId: String
    var destinationId: String
    var destinationType: String
    var event: JSON

    func serialized() -> [UInt8] {
        let value: JSON = [
            "workspaceId": "acme", "sourceId": .string(sourceId), "destinationId": .string(destinationId),
            "destinationType": .string(destinationType), "messageId": event["messageId"] ?? "",
            "receivedAt": event["receivedAt"] ?? "", "eventType": event["type"] ?? "", "event": event,
        ]
        return value.serialized()
    }
}

/// Polls `check` until it returns a value or `timeout` passes.
func eventually<T>(
    timeout: Duration = .seconds(30), _ what: String, _ check: () async throws -> T?
) async throws -> T {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if let value = try await check() { return value }
        try await Task.sleep(for: .milliseconds(100))
    }
    throw TimeoutError(message: "timed out waiting for \(what)")
}

struct TimeoutError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}

import Foundation
import KafkaTransport
import Logging
import Synchronization
import XCTest

/// Shared wiring for tests against an in-process mock cluster.
enum TestKafka {
    static let logger: Logger = {
        var logger = Logger(label: "keel.kafka.test")
        logger.logLevel = ProcessInfo.processInfo.environment["KEEL_TEST_KAFKA_LOG"] == "1" ? .debug : .critical
        return logger
    }()

    static func uniqueName(_ prefix: String) -> String {
        "\(prefix)-\(UInt32.random(in: 0...UInt32.max))"
    }

    static func producerConfiguration(_ cluster: MockKafkaCluster) -> KafkaProducer.Configuration {
        var configuration = KafkaProducer.Configuration(bootstrapServers: cluster.bootstrapServers)
        configuration.messageTimeout = .seconds(5)
        configuration.requestTimeout = .seconds(3)
        configuration.shutdownFlushTimeout = .seconds(3)
        return configuration
    }

    static func consumerConfiguration(_ cluster: MockKafkaCluster, group: String, topics: [String])
        -> KafkaConsumer.Configuration
    {
        var configuration = KafkaConsumer.Configuration(
            bootstrapServers: cluster.bootstrapServers, groupID: group, topics: topics)
        configuration.sessionTimeout = .seconds(3)
        configuration.heartbeatInterval = .milliseconds(300)
        configuration.autoCommitInterval = .milliseconds(200)
        configuration.maxBatchSize = 100
        configuration.metadataRefreshInterval = .seconds(1)
        return configuration
    }

    static func message(_ topic: String, key: String?, value: String) -> OutgoingMessage {
        OutgoingMessage(topic: topic, key: key.map { Array($0.utf8) }, value: Array(value.utf8))
    }
}

extension ConsumedMessage {
    var valueString: String { String(decoding: value, as: UTF8.self) }
    var keyString: String? { key.map { String(decoding: $0, as: UTF8.self) } }
}

/// Runs `service.run()` in a task; `stop()` cancels it and waits for it to finish.
final class RunningService: Sendable {
    let task: Task<Void, Error>

    init(_ run: @escaping @Sendable () async throws -> Void) {
        task = Task { try await run() }
    }

    func stop() async {
        task.cancel()
        _ = try? await task.value
    }
}

/// Reads batches until `done` returns true for everything read so far, or `timeout` passes.
/// Stores offsets of each batch after "processing" it when `store` is true.
func consume(
    _ consumer: KafkaConsumer,
    store: Bool = true,
    timeout: Duration = .seconds(30),
    until done: @escaping @Sendable ([ConsumedMessage]) -> Bool
) async -> [ConsumedMessage] {
    await withTaskGroup(of: [ConsumedMessage]?.self) { group in
        group.addTask {
            var all: [ConsumedMessage] = []
            for await batch in consumer.messages {
                all += batch
                if store { consumer.storeOffsets(batch) }
                if done(all) { break }
            }
            return all
        }
        group.addTask {
            try? await Task.sleep(for: timeout)
            return nil
        }
        var result: [ConsumedMessage] = []
        for await value in group {
            if let value {
                result = value
                break
            }
            // Timed out: cancelling ends the reader's `next()` with nil.
            group.cancelAll()
        }
        group.cancelAll()
        return result
    }
}

/// A value behind a lock, shareable between tasks.
final class Locked<Value: Sendable>: Sendable {
    private let mutex: Mutex<Value>
    init(_ value: Value) { mutex = Mutex(value) }
    func withLock<T: Sendable>(_ body: (inout sending Value) -> sending T) -> T { mutex.withLock(body) }
}

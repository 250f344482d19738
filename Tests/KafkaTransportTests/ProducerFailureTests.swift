import Foundation
import KafkaTransport
import ServiceLifecycle
import Synchronization
import XCTest

final class ProducerFailureTests: XCTestCase {
    /// With every broker down, a send fails with a retryable error in bounded time (message
    /// timeout plus request timeout), and nothing acknowledged is missing afterwards.
    func testAllBrokersDownFailsRetryablyInBoundedTime() async throws {
        let cluster = try MockKafkaCluster(brokers: 3, logger: TestKafka.logger)
        let topic = TestKafka.uniqueName("down")
        try cluster.createTopic(topic, partitions: 3)
        var configuration = TestKafka.producerConfiguration(cluster)
        configuration.messageTimeout = .seconds(3)
        configuration.requestTimeout = .seconds(2)
        let producer = try KafkaProducer(configuration: configuration, logger: TestKafka.logger)
        try await producer.waitUntilReady(timeout: .seconds(5), topics: [topic])
        try await producer.send(TestKafka.message(topic, key: "k", value: "before"))

        cluster.allBrokersDown()
        let start = ContinuousClock.now
        let outcomes = await sendIndividually(producer, topic: topic, values: (0..<20).map { "down\($0)" })
        let elapsed = ContinuousClock.now - start
        print("KafkaTransport: with all brokers down, 20 sends answered within \(elapsed)")
        XCTAssertLessThan(elapsed, .seconds(12), "failure must be reported in bounded time")
        let reachable = await producer.isReachable(timeout: .milliseconds(500))
        XCTAssertFalse(reachable)
        for case .failure(let error) in outcomes.values {
            XCTAssertTrue(error.isRetryable, "\(error)")
            XCTAssertTrue([.timedOut, .brokerUnavailable].contains(error.code), "\(error)")
        }
        XCTAssertTrue(outcomes.values.contains { if case .failure = $0 { true } else { false } })

        cluster.allBrokersUp()
        try await assertAcknowledgedAreOnTopic(cluster, topic: topic, outcomes: outcomes, plus: ["before"])
    }

    /// Sends made while every broker is down succeed once the brokers come back within the
    /// message timeout; whatever is acknowledged is on the topic.
    func testSendsSucceedWhenBrokersComeBack() async throws {
        let cluster = try MockKafkaCluster(brokers: 3, logger: TestKafka.logger)
        let topic = TestKafka.uniqueName("back")
        try cluster.createTopic(topic, partitions: 3)
        var configuration = TestKafka.producerConfiguration(cluster)
        configuration.messageTimeout = .seconds(10)
        configuration.requestTimeout = .seconds(5)
        configuration.additionalProperties["reconnect.backoff.max.ms"] = "500"
        let producer = try KafkaProducer(configuration: configuration, logger: TestKafka.logger)
        try await producer.waitUntilReady(timeout: .seconds(5), topics: [topic])

        cluster.allBrokersDown()
        let restore = Task {
            try await Task.sleep(for: .seconds(1))
            cluster.allBrokersUp()
        }
        let outcomes = await sendIndividually(producer, topic: topic, values: (0..<30).map { "m\($0)" })
        try await restore.value
        let failures = outcomes.values.compactMap { if case .failure(let error) = $0 { error } else { nil } }
        XCTAssertTrue(failures.isEmpty, "failed: \(failures)")
        try await assertAcknowledgedAreOnTopic(cluster, topic: topic, outcomes: outcomes)
    }

    /// A send with a deadline stops waiting at the deadline with a retryable timeout, even when
    /// librdkafka would keep the messages for much longer; reports arriving later are harmless.
    func testSendWithDeadlineStopsWaitingInTime() async throws {
        let cluster = try MockKafkaCluster(brokers: 1, logger: TestKafka.logger)
        let topic = TestKafka.uniqueName("deadline")
        try cluster.createTopic(topic, partitions: 1)
        var configuration = TestKafka.producerConfiguration(cluster)
        configuration.messageTimeout = .seconds(30)
        configuration.requestTimeout = .seconds(30)
        let producer = try KafkaProducer(configuration: configuration, logger: TestKafka.logger)
        try await producer.waitUntilReady(timeout: .seconds(5), topics: [topic])

        cluster.allBrokersDown()
        let started = ContinuousClock.now
        do {
            try await producer.send([TestKafka.message(topic, key: "k", value: "late")], deadline: .now + .seconds(1))
            XCTFail("expected a timeout while every broker is down")
        } catch {
            XCTAssertEqual(error.code, .timedOut)
            XCTAssertTrue(error.isRetryable)
        }
        let elapsed = ContinuousClock.now - started
        XCTAssertGreaterThanOrEqual(elapsed, .milliseconds(900))
        XCTAssertLessThan(elapsed, .seconds(3), "the wait ends at the deadline, not at librdkafka's 30 s")

        cluster.allBrokersUp()
        // The producer keeps working, and a send with a far deadline still waits for its report.
        try await producer.send([TestKafka.message(topic, key: "k", value: "after")], deadline: .now + .seconds(20))
    }

    /// A message larger than the limit fails at once with a non-retryable error.
    func testTooLargeMessageFailsWithoutRetry() async throws {
        let cluster = try MockKafkaCluster(brokers: 1, logger: TestKafka.logger)
        var configuration = TestKafka.producerConfiguration(cluster)
        configuration.additionalProperties["message.max.bytes"] = "10000"
        let producer = try KafkaProducer(configuration: configuration, logger: TestKafka.logger)
        do {
            try await producer.send(OutgoingMessage(topic: "big", key: nil, value: [UInt8](repeating: 7, count: 20_000)))
            XCTFail("expected an error")
        } catch {
            XCTAssertEqual(error.code, .messageTooLarge)
            XCTAssertFalse(error.isRetryable)
            XCTAssertFalse("\(error)".contains("\u{7}"))
        }
    }

    /// A batch is all-or-error: one bad message fails the whole call.
    func testBatchFailsWhenOneMessageFails() async throws {
        let cluster = try MockKafkaCluster(brokers: 1, logger: TestKafka.logger)
        let topic = TestKafka.uniqueName("batch")
        try cluster.createTopic(topic, partitions: 1)
        var configuration = TestKafka.producerConfiguration(cluster)
        configuration.additionalProperties["message.max.bytes"] = "10000"
        let producer = try KafkaProducer(configuration: configuration, logger: TestKafka.logger)
        let batch = [
            TestKafka.message(topic, key: nil, value: "ok"),
            OutgoingMessage(topic: topic, key: nil, value: [UInt8](repeating: 1, count: 20_000)),
        ]
        do {
            try await producer.send(batch)
            XCTFail("expected an error")
        } catch {
            XCTAssertEqual(error.code, .messageTooLarge)
        }
    }

    /// Unknown configuration is rejected with a safe message naming the property only.
    func testInvalidConfigurationIsRejectedSafely() throws {
        var configuration = KafkaProducer.Configuration(bootstrapServers: "127.0.0.1:1")
        configuration.additionalProperties["sasl.password"] = "hunter2"
        configuration.additionalProperties["linger.ms"] = "not-a-number-secret"
        XCTAssertThrowsError(try KafkaProducer(configuration: configuration, logger: TestKafka.logger)) { error in
            let kafkaError = error as? KafkaError
            XCTAssertEqual(kafkaError?.code, .configuration)
            XCTAssertFalse("\(error)".contains("secret"))
            XCTAssertFalse("\(error)".contains("hunter2"))
        }
    }

    /// After graceful shutdown the producer has flushed and refuses new sends.
    func testGracefulShutdownFlushesAndRefusesNewSends() async throws {
        let cluster = try MockKafkaCluster(brokers: 1, logger: TestKafka.logger)
        let topic = TestKafka.uniqueName("flush")
        try cluster.createTopic(topic, partitions: 1)
        let producer = try KafkaProducer(configuration: TestKafka.producerConfiguration(cluster), logger: TestKafka.logger)
        let group = ServiceGroup(services: [producer], logger: TestKafka.logger)
        let groupTask = Task { try await group.run() }
        let sends = Task { try await producer.send((0..<100).map { TestKafka.message(topic, key: nil, value: "m\($0)") }) }
        try await sends.value
        await group.triggerGracefulShutdown()
        try await groupTask.value
        do {
            try await producer.send(TestKafka.message(topic, key: nil, value: "late"))
            XCTFail("expected shutDown")
        } catch {
            XCTAssertEqual(error.code, .shutDown)
        }
    }

    // MARK: helpers

    private func sendIndividually(_ producer: KafkaProducer, topic: String, values: [String]) async
        -> [String: Result<Void, KafkaError>]
    {
        await withTaskGroup(of: (String, Result<Void, KafkaError>).self) { group in
            for value in values {
                group.addTask {
                    do throws(KafkaError) {
                        try await producer.send(TestKafka.message(topic, key: value, value: value))
                        return (value, .success(()))
                    } catch {
                        return (value, .failure(error))
                    }
                }
            }
            var outcomes: [String: Result<Void, KafkaError>] = [:]
            for await (value, outcome) in group { outcomes[value] = outcome }
            return outcomes
        }
    }

    private func assertAcknowledgedAreOnTopic(
        _ cluster: MockKafkaCluster, topic: String, outcomes: [String: Result<Void, KafkaError>], plus: [String] = []
    ) async throws {
        let acknowledged = Set(outcomes.compactMap { if case .success = $0.value { $0.key } else { nil } } + plus)
        let consumer = try KafkaConsumer(
            configuration: TestKafka.consumerConfiguration(cluster, group: TestKafka.uniqueName("check"), topics: [topic]),
            logger: TestKafka.logger)
        let running = RunningService { try await consumer.run() }
        let read = await consume(consumer, timeout: .seconds(20)) { Set($0.map(\.valueString)).isSuperset(of: acknowledged) }
        await running.stop()
        let missing = acknowledged.subtracting(read.map(\.valueString))
        XCTAssertTrue(missing.isEmpty, "acknowledged but missing: \(missing.sorted())")
    }
}

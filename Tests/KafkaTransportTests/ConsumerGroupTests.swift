import Foundation
import KafkaTransport
import ServiceLifecycle
import Synchronization
import XCTest

final class ConsumerGroupTests: XCTestCase {
    /// A consumer that dies without storing offsets loses nothing: the next member of the
    /// group reads those messages again. Offsets that were stored are committed when the
    /// consumer closes, so their messages are not read again.
    func testUnstoredMessagesAreRedeliveredToTheNextConsumer() async throws {
        let cluster = try MockKafkaCluster(brokers: 3, logger: TestKafka.logger)
        let topic = TestKafka.uniqueName("redeliver")
        try cluster.createTopic(topic, partitions: 3)
        let producer = try KafkaProducer(configuration: TestKafka.producerConfiguration(cluster), logger: TestKafka.logger)
        try await producer.send((0..<60).map { TestKafka.message(topic, key: "k\($0 % 7)", value: "m\($0)") })
        let configuration = TestKafka.consumerConfiguration(cluster, group: "redeliver", topics: [topic])

        // First member: reads everything, "processes" only the first 10 per partition.
        let first = try KafkaConsumer(configuration: configuration, logger: TestKafka.logger)
        let runningFirst = RunningService { try await first.run() }
        let read = await consume(first, store: false) { $0.count >= 60 }
        XCTAssertEqual(read.count, 60)
        let processed = read.filter { $0.offset < 10 }
        first.storeOffsets(processed)
        await runningFirst.stop()  // closes without storing the rest

        let second = try KafkaConsumer(configuration: configuration, logger: TestKafka.logger)
        let runningSecond = RunningService { try await second.run() }
        let expected = Set(read.filter { $0.offset >= 10 }.map(\.valueString))
        let reread = await consume(second) { Set($0.map(\.valueString)).isSuperset(of: expected) }
        await runningSecond.stop()

        XCTAssertEqual(Set(reread.map(\.valueString)), expected, "exactly the unprocessed messages come back")
    }

    /// Two members split the partitions; a member joining and one leaving rebalance the group
    /// without losing a message: everything produced is processed at least once, with offsets
    /// stored only after processing.
    func testTwoConsumersSplitPartitionsAndRebalanceLosesNothing() async throws {
        let cluster = try MockKafkaCluster(brokers: 3, logger: TestKafka.logger)
        let topic = TestKafka.uniqueName("rebalance")
        try cluster.createTopic(topic, partitions: 6)
        let producer = try KafkaProducer(configuration: TestKafka.producerConfiguration(cluster), logger: TestKafka.logger)
        let configuration = TestKafka.consumerConfiguration(cluster, group: "rebalance", topics: [topic])
        let processed = Locked<[String: Set<String>]>([:])
        func member(_ name: String) throws -> (KafkaConsumer, RunningService, Task<Void, Never>) {
            let consumer = try KafkaConsumer(configuration: configuration, logger: TestKafka.logger)
            let running = RunningService { try await consumer.run() }
            let reader = Task {
                for await batch in consumer.messages {
                    processed.withLock { $0[name, default: []].formUnion(batch.map(\.valueString)) }
                    consumer.storeOffsets(batch)
                }
            }
            return (consumer, running, reader)
        }
        var produced = 0
        func produce(_ count: Int) async throws {
            try await producer.send(
                (produced..<produced + count).map { TestKafka.message(topic, key: "user\($0 % 31)", value: "m\($0)") })
            produced += count
        }
        func allProcessed() -> Bool {
            processed.withLock { $0.values.reduce(into: Set<String>()) { $0.formUnion($1) }.count } == produced
        }
        func waitFor(_ what: String, timeout: Duration = .seconds(30), _ condition: () -> Bool) async throws {
            let deadline = ContinuousClock.now + timeout
            while !condition() {
                guard ContinuousClock.now < deadline else { return XCTFail("timed out waiting for \(what)") }
                try await Task.sleep(for: .milliseconds(50))
            }
        }

        let (a, runningA, readerA) = try member("a")
        try await produce(200)
        try await waitFor("a to process the first wave", allProcessed)
        XCTAssertEqual(a.assignment.count, 6)

        let (b, runningB, readerB) = try member("b")
        try await waitFor("the partitions to be split") { a.assignment.count == 3 && b.assignment.count == 3 }
        XCTAssertTrue(a.assignment.isDisjoint(with: b.assignment))
        try await produce(300)
        try await waitFor("both to process the second wave", allProcessed)
        XCTAssertFalse(processed.withLock { $0["b", default: []] }.isEmpty, "b takes part")

        await runningA.stop()
        readerA.cancel()
        try await waitFor("b to own every partition") { b.assignment.count == 6 }
        try await produce(300)
        try await waitFor("b to process the third wave", allProcessed)

        let all = processed.withLock { $0.values.reduce(into: Set<String>()) { $0.formUnion($1) } }
        XCTAssertEqual(all, Set((0..<produced).map { "m\($0)" }))
        await runningB.stop()
        readerB.cancel()

        // What the members committed covers everything: a new member finds nothing left to read.
        let late = try KafkaConsumer(configuration: configuration, logger: TestKafka.logger)
        let runningLate = RunningService { try await late.run() }
        let leftovers = await consume(late, timeout: .seconds(8)) { _ in false }
        await runningLate.stop()
        XCTAssertTrue(leftovers.isEmpty, "\(leftovers.count) messages were not committed")
    }

    /// Offsets stored for messages read before a revoke are ignored, even when the partition
    /// comes back to the same member: the messages are read again rather than committed under
    /// an assignment that no longer holds them.
    func testStoresFromBeforeARevokeAreIgnored() async throws {
        let cluster = try MockKafkaCluster(brokers: 1, logger: TestKafka.logger)
        let topic = TestKafka.uniqueName("stale")
        try cluster.createTopic(topic, partitions: 2)
        let producer = try KafkaProducer(configuration: TestKafka.producerConfiguration(cluster), logger: TestKafka.logger)
        try await producer.send((0..<20).map { TestKafka.message(topic, key: "k\($0)", value: "m\($0)") })
        let configuration = TestKafka.consumerConfiguration(cluster, group: "stale", topics: [topic])

        let a = try KafkaConsumer(configuration: configuration, logger: TestKafka.logger)
        let runningA = RunningService { try await a.run() }
        let held = await consume(a, store: false) { $0.count >= 20 }
        XCTAssertEqual(held.count, 20)

        let b = try KafkaConsumer(configuration: configuration, logger: TestKafka.logger)
        let runningB = RunningService { try await b.run() }
        let deadline = ContinuousClock.now + .seconds(30)
        while !(a.assignment.count == 1 && b.assignment.count == 1) && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(50))
        }
        XCTAssertEqual(a.assignment.count, 1, "the rebalance gave a one partition")
        a.storeOffsets(held)  // too late: read under the revoked assignment
        await runningA.stop()
        await runningB.stop()

        let c = try KafkaConsumer(configuration: configuration, logger: TestKafka.logger)
        let runningC = RunningService { try await c.run() }
        let again = await consume(c) { $0.count >= 20 }
        await runningC.stop()
        XCTAssertEqual(Set(again.map(\.valueString)), Set(held.map(\.valueString)))
    }

    /// Assignment changes are reported as events.
    func testAssignmentEventsAreReported() async throws {
        let cluster = try MockKafkaCluster(brokers: 1, logger: TestKafka.logger)
        let topic = TestKafka.uniqueName("events")
        try cluster.createTopic(topic, partitions: 2)
        let consumer = try KafkaConsumer(
            configuration: TestKafka.consumerConfiguration(cluster, group: "events", topics: [topic]),
            logger: TestKafka.logger)
        let running = RunningService { try await consumer.run() }
        var iterator = consumer.events.makeAsyncIterator()
        let assigned = await iterator.next()
        let partitions = [TopicPartition(topic: topic, partition: 0), TopicPartition(topic: topic, partition: 1)]
        XCTAssertEqual(assigned, .assigned(partitions))
        await running.stop()
        let revoked = await iterator.next()
        XCTAssertEqual(revoked, .revoked(partitions))
        let end = await iterator.next()
        XCTAssertNil(end, "the stream ends when the consumer stops")
    }

    /// A paused partition delivers nothing until resumed; then it continues where it stopped.
    func testPauseAndResume() async throws {
        let cluster = try MockKafkaCluster(brokers: 1, logger: TestKafka.logger)
        let topic = TestKafka.uniqueName("pause")
        try cluster.createTopic(topic, partitions: 1)
        let producer = try KafkaProducer(configuration: TestKafka.producerConfiguration(cluster), logger: TestKafka.logger)
        let consumer = try KafkaConsumer(
            configuration: TestKafka.consumerConfiguration(cluster, group: "pause", topics: [topic]),
            logger: TestKafka.logger)
        let running = RunningService { try await consumer.run() }
        try await producer.send((0..<10).map { TestKafka.message(topic, key: nil, value: "a\($0)") })
        let first = await consume(consumer) { $0.count >= 10 }
        XCTAssertEqual(first.count, 10)

        try consumer.pause(topic: topic, partition: 0)
        try await producer.send((0..<10).map { TestKafka.message(topic, key: nil, value: "b\($0)") })
        let whilePaused = await consume(consumer, timeout: .seconds(2)) { _ in false }
        XCTAssertTrue(whilePaused.isEmpty, "a paused partition delivered \(whilePaused.count) messages")

        try consumer.resume(topic: topic, partition: 0)
        let afterResume = await consume(consumer) { $0.count >= 10 }
        XCTAssertEqual(afterResume.map(\.valueString), (0..<10).map { "b\($0)" })
        XCTAssertThrowsError(try consumer.pause(topic: topic, partition: 7)) { error in
            XCTAssertEqual((error as? KafkaError)?.code, .notAssigned)
        }
        await running.stop()
    }

    /// On graceful shutdown the consumer lets the batch in hand finish, so the offsets stored
    /// for it are committed before the consumer leaves.
    func testGracefulShutdownCommitsTheBatchBeingProcessed() async throws {
        let cluster = try MockKafkaCluster(brokers: 1, logger: TestKafka.logger)
        let topic = TestKafka.uniqueName("drain")
        try cluster.createTopic(topic, partitions: 1)
        let producer = try KafkaProducer(configuration: TestKafka.producerConfiguration(cluster), logger: TestKafka.logger)
        try await producer.send((0..<5).map { TestKafka.message(topic, key: nil, value: "m\($0)") })
        var configuration = TestKafka.consumerConfiguration(cluster, group: "drain", topics: [topic])
        configuration.autoCommitInterval = .seconds(60)  // only the shutdown commit counts
        let consumer = try KafkaConsumer(configuration: configuration, logger: TestKafka.logger)
        let group = ServiceGroup(services: [consumer], logger: TestKafka.logger)
        let groupTask = Task { try await group.run() }

        var iterator = consumer.messages.makeAsyncIterator()
        let firstBatch = await iterator.next()
        let batch = try XCTUnwrap(firstBatch)
        await group.triggerGracefulShutdown()
        try await Task.sleep(for: .milliseconds(300))  // still "processing" while shutdown starts
        consumer.storeOffsets(batch)
        let end = await iterator.next()
        XCTAssertNil(end)
        try await groupTask.value

        let next = try KafkaConsumer(configuration: configuration, logger: TestKafka.logger)
        let running = RunningService { try await next.run() }
        try await producer.send(TestKafka.message(topic, key: nil, value: "after"))
        let rest = await consume(next) { $0.contains { $0.valueString == "after" } }
        await running.stop()
        let firstValues = Set(batch.map(\.valueString))
        XCTAssertTrue(firstValues.isDisjoint(with: rest.map(\.valueString)), "processed messages were read again")
    }
}

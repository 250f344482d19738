import Foundation
import KafkaTransport
import Synchronization
import XCTest

final class RebalanceHandlerTests: XCTestCase {
    /// `KafkaPartitioner` names the partition the producer puts each key on.
    func testMurmur2PartitionIsWhereTheProducerPutsAKey() async throws {
        let cluster = try MockKafkaCluster(brokers: 1, logger: TestKafka.logger)
        let topic = TestKafka.uniqueName("partitioner")
        try cluster.createTopic(topic, partitions: 5)
        let producer = try KafkaProducer(configuration: TestKafka.producerConfiguration(cluster), logger: TestKafka.logger)
        let keys = (0..<200).map { "destination-\($0 % 3):user-\($0)" }
        try await producer.send(keys.map { TestKafka.message(topic, key: $0, value: $0) })

        let consumer = try KafkaConsumer(
            configuration: TestKafka.consumerConfiguration(cluster, group: "partitioner", topics: [topic]), logger: TestKafka.logger)
        let running = RunningService { try await consumer.run() }
        let read = await consume(consumer) { $0.count >= keys.count }
        await running.stop()

        XCTAssertEqual(read.count, keys.count)
        XCTAssertEqual(Set(read.map(\.partition)).count, 5, "the keys spread over every partition")
        for message in read {
            let predicted = KafkaPartitioner.murmur2Partition(key: message.key ?? [], partitionCount: 5)
            XCTAssertEqual(predicted, message.partition, "key \(message.keyString ?? "")")
        }
    }

    /// The handler runs inside the rebalance: no message of an assigned partition arrives before
    /// it returns, and offsets it stores on a revoke are committed for the next member.
    func testHandlerRunsBeforeFetchingAndItsStoresAreCommittedOnRevoke() async throws {
        let cluster = try MockKafkaCluster(brokers: 1, logger: TestKafka.logger)
        let topic = TestKafka.uniqueName("handler")
        try cluster.createTopic(topic, partitions: 2)
        let producer = try KafkaProducer(configuration: TestKafka.producerConfiguration(cluster), logger: TestKafka.logger)
        try await producer.send((0..<20).map { TestKafka.message(topic, key: "k\($0)", value: "m\($0)") })
        let configuration = TestKafka.consumerConfiguration(cluster, group: "handler", topics: [topic])

        let consumer = try KafkaConsumer(configuration: configuration, logger: TestKafka.logger)
        let handlerDone = Mutex<ContinuousClock.Instant?>(nil)
        let held = Mutex<[ConsumedMessage]>([])
        consumer.onRebalance(timeout: nil) { event in
            switch event {
            case .assigned:
                try? await Task.sleep(for: .milliseconds(700))
                handlerDone.withLock { $0 = .now }
            case .revoked:
                // Stored here, in the handler: committed by the revoke that follows.
                consumer.storeOffsets(held.withLock { $0 })
            }
        }
        let running = RunningService { try await consumer.run() }
        let firstBatchAt = Mutex<ContinuousClock.Instant?>(nil)
        let read = await consume(consumer, store: false) { all in
            firstBatchAt.withLock { $0 = $0 ?? .now }
            return all.count >= 20
        }
        XCTAssertEqual(read.count, 20)
        held.withLock { $0 = read }
        let finishedAt = try XCTUnwrap(handlerDone.withLock { $0 }, "the handler ran")
        XCTAssertLessThan(finishedAt, try XCTUnwrap(firstBatchAt.withLock { $0 }), "a message arrived before the handler returned")
        await running.stop()  // revokes: the handler stores everything read

        let next = try KafkaConsumer(configuration: configuration, logger: TestKafka.logger)
        let runningNext = RunningService { try await next.run() }
        let leftovers = await consume(next, timeout: .seconds(6)) { _ in false }
        await runningNext.stop()
        XCTAssertTrue(leftovers.isEmpty, "\(leftovers.count) messages read again: the handler's stores were not committed")
    }
}

import KafkaTransport
import MetricsTestKit
import XCTest

final class ConsumerLagTests: XCTestCase {
    /// The lag gauge is what an SRE (or an autoscaler reading /metrics) sees: per partition, the
    /// messages not yet committed by the group. It follows the offsets stored after processing,
    /// not what was merely read.
    func testLagGaugeFollowsCommittedOffsetsPerPartition() async throws {
        let cluster = try MockKafkaCluster(brokers: 1, logger: TestKafka.logger)
        let topic = TestKafka.uniqueName("lag")
        try cluster.createTopic(topic, partitions: 1)
        let producer = try KafkaProducer(configuration: TestKafka.producerConfiguration(cluster), logger: TestKafka.logger)
        try await producer.send((0..<100).map { TestKafka.message(topic, key: nil, value: "m\($0)") })

        let group = TestKafka.uniqueName("lag-group")
        var configuration = TestKafka.consumerConfiguration(cluster, group: group, topics: [topic])
        configuration.statisticsInterval = .milliseconds(200)
        let metrics = TestMetrics()
        let consumer = try KafkaConsumer(configuration: configuration, logger: TestKafka.logger, metrics: metrics)
        let running = RunningService { try await consumer.run() }
        defer { Task { await running.stop() } }

        let read = await consume(consumer, store: false) { $0.count >= 100 }
        XCTAssertEqual(read.count, 100)
        let dimensions = [("group", group), ("topic", topic), ("partition", "0")]
        func lag() -> Double? { try? metrics.expectGauge("keel_kafka_consumer_lag", dimensions).lastValue }
        func waitForLag(_ wanted: Double) async throws {
            let deadline = ContinuousClock.now + .seconds(15)
            while lag() != wanted, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(100)) }
        }

        consumer.storeOffsets(read.filter { $0.offset < 40 })
        try await waitForLag(60)
        XCTAssertEqual(lag(), 60, "60 messages read but not processed are still lag")

        consumer.storeOffsets(read)
        try await waitForLag(0)
        XCTAssertEqual(lag(), 0)
        await running.stop()
    }
}

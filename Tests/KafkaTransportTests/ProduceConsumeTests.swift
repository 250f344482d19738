import Foundation
import KafkaTransport
import XCTest

final class ProduceConsumeTests: XCTestCase {
    /// Messages with the same key arrive in the order they were sent, none missing, across
    /// many keys spread over six partitions.
    func testPerKeyOrderIsKeptAcrossManyMessages() async throws {
        let cluster = try MockKafkaCluster(brokers: 3, logger: TestKafka.logger)
        let topic = TestKafka.uniqueName("order")
        try cluster.createTopic(topic, partitions: 6)
        let producer = try KafkaProducer(configuration: TestKafka.producerConfiguration(cluster), logger: TestKafka.logger)
        let keys = (0..<20).map { "user-\($0)" }
        let perKey = 250
        // Concurrent batches from several tasks, like the gateway's concurrent requests.
        try await withThrowingTaskGroup(of: Void.self) { group in
            for chunk in stride(from: 0, to: keys.count, by: 5) {
                let chunkKeys = Array(keys[chunk..<chunk + 5])
                group.addTask {
                    for start in stride(from: 0, to: perKey, by: 50) {
                        var batch: [OutgoingMessage] = []
                        for sequence in start..<start + 50 {
                            for key in chunkKeys { batch.append(TestKafka.message(topic, key: key, value: "\(key):\(sequence)")) }
                        }
                        try await producer.send(batch)
                    }
                }
            }
            try await group.waitForAll()
        }

        let consumer = try KafkaConsumer(
            configuration: TestKafka.consumerConfiguration(cluster, group: "order", topics: [topic]),
            logger: TestKafka.logger)
        let running = RunningService { try await consumer.run() }
        let total = keys.count * perKey
        let messages = await consume(consumer) { $0.count >= total }
        await running.stop()

        XCTAssertEqual(messages.count, total)
        var next: [String: Int] = [:]
        var partitionOfKey: [String: Int32] = [:]
        for message in messages {
            let parts = message.valueString.split(separator: ":")
            let key = String(parts[0])
            XCTAssertEqual(message.keyString, key)
            XCTAssertEqual(Int(parts[1]), next[key, default: 0], "out of order for \(key)")
            next[key] = Int(parts[1])! + 1
            XCTAssertEqual(partitionOfKey[key, default: message.partition], message.partition)
            partitionOfKey[key] = message.partition
        }
        XCTAssertGreaterThan(Set(partitionOfKey.values).count, 1, "keys should spread over partitions")
    }

    /// Headers, keys, empty keys and timestamps survive the round trip.
    func testHeadersKeyAndTimestampRoundTrip() async throws {
        let cluster = try MockKafkaCluster(brokers: 1, logger: TestKafka.logger)
        let topic = TestKafka.uniqueName("headers")
        try cluster.createTopic(topic, partitions: 1)
        let producer = try KafkaProducer(configuration: TestKafka.producerConfiguration(cluster), logger: TestKafka.logger)
        let before = Date()
        try await producer.send(
            OutgoingMessage(topic: topic, key: Array("k".utf8), value: Array("v1".utf8), headers: [("trace", [1, 2, 3]), ("empty", [])]))
        try await producer.send(OutgoingMessage(topic: topic, key: nil, value: Array("v2".utf8)))

        let consumer = try KafkaConsumer(
            configuration: TestKafka.consumerConfiguration(cluster, group: "headers", topics: [topic]),
            logger: TestKafka.logger)
        let running = RunningService { try await consumer.run() }
        let messages = await consume(consumer) { $0.count >= 2 }
        await running.stop()

        XCTAssertEqual(messages.map(\.valueString), ["v1", "v2"])
        XCTAssertEqual(messages[0].keyString, "k")
        XCTAssertNil(messages[1].key)
        XCTAssertEqual(messages[0].headers.map(\.key), ["trace", "empty"])
        XCTAssertEqual(messages[0].headers.first?.value, [1, 2, 3])
        XCTAssertTrue(messages[1].headers.isEmpty)
        XCTAssertEqual(messages.map(\.offset), [0, 1])
        let timestamp = try XCTUnwrap(messages[0].timestamp)
        XCTAssertLessThan(abs(timestamp.timeIntervalSince(before)), 30)
    }

    /// A `^regex` subscription reads every matching topic and nothing else.
    func testRegexSubscriptionReadsMatchingTopics() async throws {
        let cluster = try MockKafkaCluster(brokers: 1, logger: TestKafka.logger)
        let prefix = TestKafka.uniqueName("deliver")
        for topic in ["\(prefix).webhook", "\(prefix).slack", "other-\(prefix)"] {
            try cluster.createTopic(topic, partitions: 2)
        }
        let producer = try KafkaProducer(configuration: TestKafka.producerConfiguration(cluster), logger: TestKafka.logger)
        try await producer.send([
            TestKafka.message("\(prefix).webhook", key: "a", value: "w"),
            TestKafka.message("\(prefix).slack", key: "a", value: "s"),
            TestKafka.message("other-\(prefix)", key: "a", value: "o"),
        ])
        let consumer = try KafkaConsumer(
            configuration: TestKafka.consumerConfiguration(cluster, group: "regex", topics: ["^\(prefix)\\..*"]),
            logger: TestKafka.logger)
        let running = RunningService { try await consumer.run() }
        let read = await consume(consumer, timeout: .seconds(8)) { _ in false }
        await running.stop()
        XCTAssertEqual(Set(read.map(\.valueString)), ["w", "s"])
    }

    /// A topic created after a `^regex` subscriber joined is read within the metadata refresh
    /// interval: how the router picks up `keel.deliver.<type>` of a destination type added later.
    /// (librdkafka's own refresh interval is 5 minutes.)
    func testRegexSubscriptionPicksUpATopicCreatedLater() async throws {
        let cluster = try MockKafkaCluster(brokers: 1, logger: TestKafka.logger)
        let prefix = TestKafka.uniqueName("deliver")
        try cluster.createTopic("\(prefix).webhook", partitions: 1)
        let producer = try KafkaProducer(configuration: TestKafka.producerConfiguration(cluster), logger: TestKafka.logger)
        try await producer.send([TestKafka.message("\(prefix).webhook", key: "a", value: "w")])
        var configuration = TestKafka.consumerConfiguration(cluster, group: "regex-later", topics: ["^\(prefix)\\..*"])
        configuration.metadataRefreshInterval = .seconds(1)
        let consumer = try KafkaConsumer(configuration: configuration, logger: TestKafka.logger)
        let running = RunningService { try await consumer.run() }
        let first = await consume(consumer, timeout: .seconds(15)) { $0.count >= 1 }
        XCTAssertEqual(first.map(\.valueString), ["w"])

        try cluster.createTopic("\(prefix).mixpanel", partitions: 1)
        try await producer.send([TestKafka.message("\(prefix).mixpanel", key: "a", value: "m")])
        let start = ContinuousClock.now
        let later = await consume(consumer, timeout: .seconds(20)) { $0.count >= 1 }
        await running.stop()
        XCTAssertEqual(later.map(\.valueString), ["m"])
        XCTAssertLessThan(ContinuousClock.now - start, .seconds(15))
    }

    /// Every acknowledged message of a sustained load is on the topic; prints the rate.
    func testThroughputOfBatchSends() async throws {
        let cluster = try MockKafkaCluster(brokers: 3, logger: TestKafka.logger)
        let topic = TestKafka.uniqueName("load")
        try cluster.createTopic(topic, partitions: 6)
        let producer = try KafkaProducer(configuration: TestKafka.producerConfiguration(cluster), logger: TestKafka.logger)
        try await producer.waitUntilReady(topics: [topic])
        let value = [UInt8](repeating: UInt8(ascii: "x"), count: 700)
        let tasks = 16
        let batchesPerTask = 25
        let batchSize = 100
        let start = ContinuousClock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            for task in 0..<tasks {
                group.addTask {
                    for batch in 0..<batchesPerTask {
                        let messages = (0..<batchSize).map { index in
                            OutgoingMessage(topic: topic, key: Array("t\(task)-\(batch)-\(index)".utf8), value: value)
                        }
                        try await producer.send(messages)
                    }
                }
            }
            try await group.waitForAll()
        }
        let elapsed = ContinuousClock.now - start
        let total = tasks * batchesPerTask * batchSize
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        print("KafkaTransport throughput: \(total) messages of 700 B in \(elapsed): \(Int(Double(total) / seconds)) msg/s")

        let consumer = try KafkaConsumer(
            configuration: TestKafka.consumerConfiguration(cluster, group: "load", topics: [topic]), logger: TestKafka.logger)
        let running = RunningService { try await consumer.run() }
        let read = await consume(consumer, timeout: .seconds(60)) { $0.count >= total }
        await running.stop()
        XCTAssertEqual(Set(read.map(\.keyString)).count, total)
    }
}

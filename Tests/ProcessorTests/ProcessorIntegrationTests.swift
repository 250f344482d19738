import Destinations
import EventModel
import KafkaTransport
import MetricsTestKit
import PostgresNIO
import ProcessorService
import Storage
import StorageTesting
import XCTest

/// End to end through real parts: IngestRecords on `keel.ingest` of an in-process librdkafka mock
/// cluster, the processor built by `buildProcessor` (as `main` builds it) on a real Postgres, and
/// the deliver topics read back.
final class ProcessorIntegrationTests: XCTestCase {
    static let deliverTopics = ["keel.deliver.webhook", "keel.deliver.customerio", "keel.deliver.ga4"]

    func makeCluster(ingestPartitions: Int) throws -> MockKafkaCluster {
        let cluster = try MockKafkaCluster(brokers: 1, logger: TestSupport.logger)
        try cluster.createTopic("keel.ingest", partitions: ingestPartitions)
        for topic in Self.deliverTopics + ["keel.batch"] { try cluster.createTopic(topic, partitions: 2) }
        return cluster
    }

    func testEventsBecomeDeliveryJobsAndReplaysProduceNothingNew() async throws {
        let testDatabase = try await TestDatabase.make(logger: TestSupport.logger)
        let cluster = try makeCluster(ingestPartitions: 1)
        try await TestSupport.applyWorkspace(testDatabase.database)
        let producer = try KafkaProducer(configuration: TestSupport.producerConfiguration(cluster), logger: TestSupport.logger)
        let producing = Task { try await producer.run() }
        let processor = try RunningProcessor(cluster: cluster, database: testDatabase.database, batchSize: 7)

        let events = (0..<30).map { TestSupport.event($0, user: $0 % 5) }
        try await producer.send(events.map { TestSupport.ingestMessage($0) })
        let first = try await readTopics(cluster, Self.deliverTopics) { $0.count >= 90 }
        XCTAssertEqual(first.count, 90, "30 events × 3 destinations")

        let jobs = try first.map { try DeliveryJob(parsing: $0.value) }
        for type in ["webhook", "customerio", "ga4"] {
            XCTAssertEqual(Set(jobs.filter { $0.destinationType == type }.map(\.messageId)), Set((0..<30).map { "msg-\($0)" }))
        }
        let ga4 = try XCTUnwrap(jobs.first { $0.destinationType == "ga4" && $0.messageId == "msg-3" })
        let body = try XCTUnwrap(ga4.requests.first.flatMap { request -> JSON? in
            if case .json(let body) = request.body { return body }
            return nil
        })
        XCTAssertEqual(body[path: "events"]?[0]?["name"], "purchase")
        XCTAssertEqual(body["client_id"], "anon-3")
        // Timestamp corrected: receivedAt 12:00:05 − (sentAt 12:00:02 − originalTimestamp 12:00:01).
        XCTAssertEqual(body["timestamp_micros"]?.intValue, (Timestamp(parsing: "2026-11-29T12:00:04Z")!.millisecondsSinceEpoch) * 1000)
        let hook = try XCTUnwrap(first.first { $0.topic == "keel.deliver.webhook" })
        XCTAssertEqual(hook.key.map { String(decoding: $0, as: UTF8.self) }?.hasPrefix("hook:anon-"), true)

        // Replay the same 30 (same messageIds), then one new event behind them on the same partition.
        try await producer.send(events.map { TestSupport.ingestMessage($0) })
        try await producer.send([TestSupport.ingestMessage(TestSupport.event(1000, user: 1))])
        // msg-1000's jobs can be read before older jobs on another deliver partition: wait for both.
        let all = try await readTopics(cluster, Self.deliverTopics) { messages in
            messages.count >= 93 && messages.filter { String(decoding: $0.value, as: UTF8.self).contains("msg-1000") }.count >= 3
        }
        XCTAssertEqual(all.count, 93, "the replay produced nothing; only the new event's 3 jobs were added")

        // The destination with a transformation attached recorded every event as an error.
        let rows = try await testDatabase.database.client.query(
            "SELECT stage, reason, destination_id, count(*)::int4 FROM processor.errors GROUP BY 1, 2, 3", logger: TestSupport.logger)
        var errors: [(String, String, String, Int32)] = []
        for try await row in rows.decode((String, String, String, Int32).self) { errors.append(row) }
        XCTAssertEqual(errors.count, 1)
        XCTAssertEqual(errors.first?.0, "user_transformation")
        XCTAssertEqual(errors.first?.1, "transformations not available")
        XCTAssertEqual(errors.first?.2, "js")
        XCTAssertEqual(errors.first?.3, 31, "30 events + the new one; the replay was deduplicated before this stage")

        await processor.stop()
        producing.cancel()
        try await testDatabase.drop()
    }

    /// Marks past the window that pruning has not removed yet do not count: those events are
    /// delivered again, in one batch with new ones, and their marks are refreshed, so a replay
    /// after that is a duplicate. (Marks go in with a plain insert, which meets these rows and is
    /// written again as an upsert.)
    func testMarksPastTheWindowAreRefreshedAndTheirEventsDelivered() async throws {
        let testDatabase = try await TestDatabase.make(logger: TestSupport.logger)
        let database = testDatabase.database
        let cluster = try makeCluster(ingestPartitions: 1)
        let yaml = TestSupport.workspaceYAML
            .replacingOccurrences(of: "destinations: [hook, cio, ga, js]", with: "destinations: [hook]")
        try await TestSupport.applyWorkspace(database, yaml: yaml)
        try await database.migrate(schema: ProcessorSchema.name, migrations: ProcessorSchema.migrations, logger: TestSupport.logger)
        // msg-0 … msg-4 were seen two days ago: outside the default 24 h window.
        try await database.client.query(
            """
            INSERT INTO processor.dedup (partition, message_id, seen_at)
            SELECT 0, 'msg-' || i, now() - interval '2 days' FROM generate_series(0, 4) AS i
            """, logger: TestSupport.logger)
        let producer = try KafkaProducer(configuration: TestSupport.producerConfiguration(cluster), logger: TestSupport.logger)
        let producing = Task { try await producer.run() }
        let metrics = TestMetrics()
        let processor = try RunningProcessor(cluster: cluster, database: database, batchSize: 500, metrics: metrics)

        let events = (0..<10).map { TestSupport.event($0, user: $0 % 3) }
        try await producer.send(events.map { TestSupport.ingestMessage($0) })
        let first = try await readTopics(cluster, ["keel.deliver.webhook"]) { $0.count >= 10 }
        XCTAssertEqual(Set(try first.map { try DeliveryJob(parsing: $0.value).messageId }), Set((0..<10).map { "msg-\($0)" }))

        // Every id is marked now, the five old ones refreshed rather than left two days old.
        let deadline = ContinuousClock.now + .seconds(20)
        var fresh: Int32 = 0
        while fresh < 10 && ContinuousClock.now < deadline {
            let rows = try await database.client.query(
                "SELECT count(*)::int4 FROM processor.dedup WHERE seen_at > now() - interval '1 hour'", logger: TestSupport.logger)
            for try await count in rows.decode(Int32.self) { fresh = count }
            if fresh < 10 { try await Task.sleep(for: .milliseconds(100)) }
        }
        XCTAssertEqual(fresh, 10)

        // A replay of all ten, then one new event: only the new one is delivered.
        try await producer.send(events.map { TestSupport.ingestMessage($0) })
        try await producer.send([TestSupport.ingestMessage(TestSupport.event(1000, user: 1))])
        // msg-1000 can be read before older jobs on the topic's other partition: wait for both.
        let all = try await readTopics(cluster, ["keel.deliver.webhook"]) { messages in
            messages.count >= 11 && messages.contains { String(decoding: $0.value, as: UTF8.self).contains("msg-1000") }
        }
        XCTAssertEqual(all.count, 11, "the replay was deduplicated; only msg-1000 was added")
        XCTAssertEqual(Set(try all.map { try DeliveryJob(parsing: $0.value).messageId }).count, 11, "no id delivered twice")

        await processor.stop()  // every batch committed and counted
        // One rewrite per batch that held one of msg-0 … msg-4 (they may have come in several).
        let rewrites = try metrics.expectCounter("keel_processor_dedup_mark_rewrites_total").totalValue
        XCTAssert((1...5).contains(rewrites), "\(rewrites) rewrites")
        XCTAssertEqual(try metrics.expectCounter("keel_processor_duplicates_total").totalValue, 10)
        XCTAssertEqual(try metrics.expectCounter("keel_processor_events_received_total").totalValue, 21)
        producing.cancel()
        try await testDatabase.drop()
    }

    /// A batch that mixes replayed ids with new ones (same users, so the same partitions and
    /// mapping shards) produces the new ones' jobs once and nothing for the replayed.
    func testABatchMixingReplayedAndNewEventsProducesOnlyTheNew() async throws {
        let testDatabase = try await TestDatabase.make(logger: TestSupport.logger)
        let cluster = try makeCluster(ingestPartitions: 2)
        let yaml = TestSupport.workspaceYAML
            .replacingOccurrences(of: "destinations: [hook, cio, ga, js]", with: "destinations: [hook, cio, ga]")
        try await TestSupport.applyWorkspace(testDatabase.database, yaml: yaml)
        let producer = try KafkaProducer(configuration: TestSupport.producerConfiguration(cluster), logger: TestSupport.logger)
        let producing = Task { try await producer.run() }
        let processor = try RunningProcessor(cluster: cluster, database: testDatabase.database, batchSize: 500)

        let old = (0..<20).map { TestSupport.event($0, user: $0 % 4) }
        try await producer.send(old.map { TestSupport.ingestMessage($0) })
        let first = try await readTopics(cluster, Self.deliverTopics) { $0.count >= 60 }
        XCTAssertEqual(first.count, 60, "20 events × 3 destinations")

        // The same users (so the same partitions and shards): old ids interleaved with new ones.
        let mixed = (0..<20).flatMap { [old[$0], TestSupport.event(100 + $0, user: $0 % 4)] }
        try await producer.send(mixed.map { TestSupport.ingestMessage($0) })
        _ = try await readTopics(cluster, Self.deliverTopics) { $0.count >= 120 }
        // Read everything again for a few seconds: extra jobs for the replayed ids would show here.
        let all = try await readTopics(cluster, Self.deliverTopics, timeout: .seconds(5)) { $0.count > 120 }
        let jobs = try all.map { try DeliveryJob(parsing: $0.value) }
        XCTAssertEqual(jobs.count, 120, "only the 20 new events' jobs were added")
        for type in ["webhook", "customerio", "ga4"] {
            let ids = jobs.filter { $0.destinationType == type }.map(\.messageId)
            XCTAssertEqual(ids.count, 40, type)
            XCTAssertEqual(Set(ids), Set((0..<20).map { "msg-\($0)" } + (100..<120).map { "msg-\($0)" }), type)
        }

        await processor.stop()
        producing.cancel()
        try await testDatabase.drop()
    }

    func testAProcessorStoppedMidStreamAndRestartedLosesNothing() async throws {
        let testDatabase = try await TestDatabase.make(logger: TestSupport.logger)
        let cluster = try makeCluster(ingestPartitions: 3)
        try await TestSupport.applyWorkspace(testDatabase.database)
        let producer = try KafkaProducer(configuration: TestSupport.producerConfiguration(cluster), logger: TestSupport.logger)
        let producing = Task { try await producer.run() }
        let total = 300
        try await producer.send((0..<total).map { TestSupport.ingestMessage(TestSupport.event($0, user: $0 % 17)) })

        // The first processor dies abruptly partway (small batches, so there is a "last batch"
        // whose offsets were never stored).
        let first = try RunningProcessor(cluster: cluster, database: testDatabase.database, batchSize: 10)
        let partial = try await readTopics(cluster, ["keel.deliver.webhook"], timeout: .seconds(30)) { $0.count >= 60 }
        XCTAssertGreaterThanOrEqual(partial.count, 60)
        await first.kill()

        let second = try RunningProcessor(cluster: cluster, database: testDatabase.database, batchSize: 50)
        let expected = Set((0..<total).map { "msg-\($0)" })
        let delivered = try await readTopics(cluster, ["keel.deliver.webhook"], timeout: .seconds(60)) { messages in
            Set(messages.compactMap { try? DeliveryJob(parsing: $0.value).messageId }).isSuperset(of: expected)
        }
        let ids = delivered.compactMap { try? DeliveryJob(parsing: $0.value).messageId }
        XCTAssertEqual(Set(ids), expected, "every event reached the webhook at least once")
        await second.stop()
        producing.cancel()
        try await testDatabase.drop()
    }
}

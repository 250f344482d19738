import Destinations
import EventModel
import KafkaTransport
import ProcessorService
import ServiceLifecycle
import Storage
import StorageTesting
import Synchronization
import WorkspaceConfig
import XCTest

/// The ordering rules that make pipelined batches as safe as sequential ones: produces in batch
/// order, commits (marks + offsets) in batch order and each behind its own produce, a bounded
/// number in flight, and nothing after a failed batch committed.
final class BatchPipelineTests: XCTestCase {
    /// What the stages did, in order.
    final class Log: Sendable {
        private let entries = Mutex<[String]>([])
        func append(_ entry: String) { entries.withLock { $0.append(entry) } }
        var all: [String] { entries.withLock { $0 } }
    }

    struct Failure: Error {}

    final class Counter: Sendable {
        private let count = Mutex(0)
        func increment() { count.withLock { $0 += 1 } }
        var value: Int { count.withLock { $0 } }
    }

    func testCommitsFollowTheirProduceAndRunInBatchOrderWhileTheNextBatchIsProduced() async throws {
        let log = Log()
        let secondProduced = AsyncStream<Void>.makeStream()
        var pipeline = BatchPipeline<Int>(
            depth: 3,
            produce: { batch in
                // Later batches produce faster, so any reordering would show.
                try await Task.sleep(for: .milliseconds(batch == 0 ? 30 : 1))
                log.append("produce \(batch)")
                if batch == 1 { secondProduced.continuation.finish() }
            },
            commit: { batch in
                if batch == 0 {
                    // Batch 1's produce runs while batch 0 is still committing: the overlap
                    // pipelining exists for.
                    for await _ in secondProduced.stream {}
                }
                log.append("commit \(batch)")
            })
        for batch in 0..<5 { try await pipeline.submit(batch) }
        try await pipeline.finish()

        let entries = log.all
        XCTAssertEqual(entries.filter { $0.hasPrefix("produce") }, (0..<5).map { "produce \($0)" })
        XCTAssertEqual(entries.filter { $0.hasPrefix("commit") }, (0..<5).map { "commit \($0)" })
        for batch in 0..<5 {
            XCTAssertLessThan(entries.firstIndex(of: "produce \(batch)")!, entries.firstIndex(of: "commit \(batch)")!)
        }
        XCTAssertLessThan(entries.firstIndex(of: "produce 1")!, entries.firstIndex(of: "commit 0")!)
        XCTAssertEqual(pipeline.inFlight, 0)
    }

    func testAtMostDepthBatchesAreInFlight() async throws {
        let release = AsyncStream<Void>.makeStream()
        let committed = Counter()
        var pipeline = BatchPipeline<Int>(
            depth: 2, produce: { _ in },
            commit: { batch in
                if batch == 0 { for await _ in release.stream {} }
                committed.increment()
            })
        try await pipeline.submit(0)
        try await pipeline.submit(1)
        XCTAssertEqual(pipeline.inFlight, 2)
        let opener = Task {
            try await Task.sleep(for: .milliseconds(100))
            XCTAssertEqual(committed.value, 0, "nothing commits while batch 0 is held")
            release.continuation.finish()
        }
        try await pipeline.submit(2)  // waits for batch 0's commit
        XCTAssertGreaterThanOrEqual(committed.value, 1)
        XCTAssertLessThanOrEqual(pipeline.inFlight, 2)
        try await opener.value
        try await pipeline.finish()
        XCTAssertEqual(committed.value, 3)
    }

    func testAFailedProduceCommitsNothingAfterItAndIsThrown() async throws {
        let log = Log()
        var pipeline = BatchPipeline<Int>(
            depth: 4,
            produce: { batch in
                if batch == 1 { throw Failure() }
                log.append("produce \(batch)")
            },
            commit: { batch in log.append("commit \(batch)") })
        var thrown = false
        do {
            for batch in 0..<4 { try await pipeline.submit(batch) }
            try await pipeline.finish()
        } catch is Failure {
            thrown = true
            await pipeline.cancel()
        }
        XCTAssertTrue(thrown)
        XCTAssertEqual(log.all, ["produce 0", "commit 0"], "batches 2 and 3 neither produced nor committed")
    }

    func testAFailedCommitStopsLaterCommits() async throws {
        let log = Log()
        var pipeline = BatchPipeline<Int>(
            depth: 4, produce: { _ in },
            commit: { batch in
                if batch == 0 { throw Failure() }
                log.append("commit \(batch)")
            })
        do {
            for batch in 0..<3 { try await pipeline.submit(batch) }
            try await pipeline.finish()
            XCTFail("the failure was not thrown")
        } catch is Failure {
            await pipeline.cancel()
        }
        XCTAssertEqual(log.all, [], "no offsets stored behind a batch that was not committed")
    }
}

final class InFlightMessageIdsTests: XCTestCase {
    func testAnIdClaimedByAnEarlierBatchIsADuplicateUntilReleased() {
        let ids = InFlightMessageIds()
        let a = DedupStore.Key(partition: 0, messageId: "a")
        let b = DedupStore.Key(partition: 0, messageId: "b")
        let bElsewhere = DedupStore.Key(partition: 1, messageId: "b")
        XCTAssertEqual(ids.claim([a, b]), [])
        XCTAssertEqual(ids.claim([b, bElsewhere]), [b], "same id on another partition is another key")
        XCTAssertEqual(ids.count, 3)
        ids.release([a, b])
        XCTAssertEqual(ids.claim([a]), [])
        XCTAssertEqual(ids.count, 2)
    }
}

/// Pipelined dedup through the real BatchProcessor, Postgres and Kafka: a batch prepared while an
/// earlier one is still in flight drops the earlier one's ids, and after the earlier one commits
/// `processor.dedup` does.
final class PipelinedDedupTests: XCTestCase {
    func testDuplicatesOfABatchInFlightAreDroppedBeforeAndAfterItsCommit() async throws {
        let testDatabase = try await TestDatabase.make(logger: TestSupport.logger)
        let database = testDatabase.database
        let cluster = try MockKafkaCluster(brokers: 1, logger: TestSupport.logger)
        for topic in ["keel.ingest", "keel.deliver.webhook", "keel.deliver.customerio", "keel.deliver.ga4", "keel.batch"] {
            try cluster.createTopic(topic, partitions: 2)
        }
        try await TestSupport.applyWorkspace(database)
        try await database.migrate(schema: ProcessorSchema.name, migrations: ProcessorSchema.migrations, logger: TestSupport.logger)
        let secrets = SecretResolver(environment: [:])
        let configStore = ConfigStore(
            database: database, configuration: .init(workspace: "acme"), secrets: secrets, logger: TestSupport.logger)
        let parts = try buildProcessor(
            configuration: ProcessorConfiguration(kafkaBrokers: cluster.bootstrapServers), database: database,
            configStore: configStore, secrets: secrets, tuneConsumer: TestSupport.tuneConsumer,
            tuneProducer: TestSupport.tuneProducer, logger: TestSupport.logger)
        // Only what prepare/produce/commit need: the config store and the producer.
        let group = ServiceGroup(services: [configStore, parts.producer], logger: TestSupport.logger)
        let running = Task { try await group.run() }
        _ = try await configStore.waitForFirstLoad()
        let processor = parts.batchProcessor

        var offset: Int64 = 0
        func batch(_ items: [(index: Int, partition: Int32)]) -> [ConsumedMessage] {
            items.map { item in
                offset += 1
                return ConsumedMessage(
                    topic: "keel.ingest", partition: item.partition, offset: offset, key: nil,
                    value: TestSupport.ingestMessage(TestSupport.event(item.index, user: 1)).value)
            }
        }

        let first = try await processor.prepare(batch([(1, 0), (2, 0)]))
        XCTAssertEqual(first.output.counts.totalJobs, 6, "2 events × 3 destinations")
        // Prepared while `first` is neither produced nor committed: msg-2 on partition 0 is a
        // duplicate; msg-2 on partition 1 is not (dedup is per partition).
        let second = try await processor.prepare(batch([(2, 0), (3, 0), (2, 1)]))
        XCTAssertEqual(second.output.counts.duplicates, 1)
        XCTAssertEqual(second.output.counts.totalJobs, 6, "msg-3 and msg-2 of partition 1")

        try await processor.produce(first)
        try await processor.commit(first)
        try await processor.produce(second)
        try await processor.commit(second)

        // After the commits, the ids are found in processor.dedup.
        let third = try await processor.prepare(batch([(1, 0), (3, 0), (2, 1), (4, 0)]))
        XCTAssertEqual(third.output.counts.duplicates, 3)
        XCTAssertEqual(third.output.counts.totalJobs, 3, "only msg-4")
        try await processor.produce(third)
        try await processor.commit(third)
        let rows = try await database.client.query("SELECT count(*)::int8 FROM processor.dedup", logger: TestSupport.logger)
        var marked: Int64 = 0
        for try await count in rows.decode(Int64.self) { marked = count }
        XCTAssertEqual(marked, 5, "msg-1..4 on partition 0 and msg-2 on partition 1, each marked once")

        await group.triggerGracefulShutdown()
        _ = try? await running.value
        try await testDatabase.drop()
    }
}

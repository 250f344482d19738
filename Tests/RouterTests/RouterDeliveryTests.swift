import EventModel
import Foundation
import KafkaTransport
import RouterService
import XCTest

/// The router end to end: Kafka (mock cluster) → router → HTTP sink, with Postgres for parking and
/// failed events.
final class RouterDeliveryTests: XCTestCase {
    /// A user's first event is retried (503 for a while); their later events wait for it and arrive
    /// in order, while another user of the same destination is delivered meanwhile.
    func testOrderPerUserKeptWhileFirstEventIsRetried() async throws {
        let harness = try await RouterHarness.make()
        defer { Task { await harness.shutdown() } }
        harness.sink.set("a-u1", .status(503))
        let running = try harness.startRouter()
        defer { Task { await running.kill() } }

        var messages: [OutgoingMessage] = []
        for i in 1...5 {
            messages.append(harness.job(destination: "a", user: "u1", messageId: "m\(i)", path: "a-u1"))
            messages.append(harness.job(destination: "a", user: "u2", messageId: "n\(i)", path: "a-u2"))
        }
        try await harness.produce(messages)
        try await harness.waitUntil("u1's first event failed three times and u2 is delivered") {
            harness.sink.received("a-u1").count >= 3 && harness.sink.delivered("a-u2").count == 5
        }
        harness.sink.set("a-u1", .ok)
        try await harness.waitUntil("all ten delivered") { harness.sink.received().filter { $0.status == 200 }.count >= 10 }

        let u1 = harness.sink.received("a-u1")
        XCTAssertEqual(u1.filter { $0.status == 200 }.map(\.messageId), ["m1", "m2", "m3", "m4", "m5"])
        let failures = u1.filter { $0.status == 503 }
        XCTAssertGreaterThanOrEqual(failures.count, 2, "m1 was retried")
        XCTAssertEqual(Set(failures.map(\.messageId)), ["m1"], "nothing after m1 was sent while m1 was failing")
        let u2 = harness.sink.delivered("a-u2")
        XCTAssertEqual(u2.map(\.messageId), ["n1", "n2", "n3", "n4", "n5"])
        let m1Delivered = u1.first { $0.status == 200 }!.at
        XCTAssertTrue(u2.allSatisfy { $0.at < m1Delivered }, "u2 did not wait for u1's retries")
    }

    /// Destination A answers 503 for a while: its backlog is parked in Postgres, B's deliveries go on
    /// with unchanged latency, and once A recovers all its events arrive, in order per user.
    func testFailingDestinationIsIsolatedParkedAndRecoversInOrder() async throws {
        let harness = try await RouterHarness.make()
        defer { Task { await harness.shutdown() } }
        let running = try harness.startRouter(limits: .init(maxQueuedPerKey: 5, maxQueuedPerDestination: 40, parkedLoadBatch: 20))
        defer { Task { await running.kill() } }

        // Warm up the consumer group and connections.
        try await harness.produce([harness.job(destination: "b", user: "warm", messageId: "warm")])
        try await harness.waitUntil("warm-up delivered") { !harness.sink.delivered("b").isEmpty }

        func sendB(_ phase: String, count: Int) async throws -> [String] {
            var ids: [String] = []
            for i in 0..<count {
                let id = "\(phase)-\(i)"
                ids.append(id)
                try await harness.produce([harness.job(destination: "b", user: "b\(i % 20)", messageId: id)])
                try await Task.sleep(for: .milliseconds(10))
            }
            return ids
        }
        func latencies(_ ids: [String]) -> [Double] {
            let wanted = Set(ids)
            let nowWall = Timestamp.now().millisecondsSinceEpoch
            let nowMono = ContinuousClock.now
            return harness.sink.delivered("b").filter { wanted.contains($0.messageId) }.compactMap { item in
                guard let sent = item.sentAtMillis else { return nil }
                let arrivedWall = Double(nowWall) - (nowMono - item.at).inSeconds * 1000
                return arrivedWall - Double(sent)
            }
        }

        let baselineIds = try await sendB("base", count: 150)
        try await harness.waitUntil("baseline delivered") { latencies(baselineIds).count == baselineIds.count }

        // A fails for 3 s; 300 events for 10 users arrive at once.
        harness.sink.set("a", .status(503), for: .seconds(3))
        let (aMessages, aOrder) = harness.backlog(destination: "a", count: 300, users: 10, userPrefix: "a")
        try await harness.produce(aMessages)
        let failingIds = try await sendB("failing", count: 150)
        let parkedDuringOutage = try await harness.parkedRowCount(destination: "a")
        try await harness.waitUntil("B delivered during A's outage") { latencies(failingIds).count == failingIds.count }
        XCTAssertFalse(harness.sink.received("a").contains { $0.status == 200 }, "A was still failing while B was measured")

        try await harness.waitUntil("A recovered and delivered everything", timeout: .seconds(60)) {
            Set(harness.sink.delivered("a").map(\.messageId)).count == 300
        }
        XCTAssertGreaterThan(parkedDuringOutage, 0, "A's backlog beyond the memory bound was parked")
        XCTAssertEqual(harness.sink.received("a").firstDeliveriesByUser, aOrder, "A's events arrived in order per user")
        try await harness.waitUntil("parked rows drained") { try await harness.parkedRowCount(destination: "a") == 0 }

        let base = median(latencies(baselineIds))
        let failing = median(latencies(failingIds))
        print("router isolation: B median latency \(base) ms with A healthy, \(failing) ms with A failing; A parked \(parkedDuringOutage)")
        XCTAssertLessThanOrEqual(failing, base * 1.2 + 2, "B's latency unchanged within 20% (+2 ms for timer granularity)")
    }

    /// A 400 goes straight to failed events (no retry), with status and response excerpt; it can be
    /// listed by filters and, once the tool accepts it, replayed with the same messageId.
    func testRejectedEventGoesToFailedEventsAndReplayDeliversIt() async throws {
        let harness = try await RouterHarness.make()
        defer { Task { await harness.shutdown() } }
        harness.sink.set("c", .status(400))
        let running = try harness.startRouter()
        defer { Task { await running.kill() } }
        let before = Timestamp.now().millisecondsSinceEpoch
        try await harness.produce([
            harness.job(destination: "c", user: "u1", messageId: "c1"), harness.job(destination: "c", user: "u2", messageId: "c2"),
        ])
        try await harness.waitUntil("two failed events") { try await harness.failedEvents.list(.init(destinationId: "c")).count == 2 }
        XCTAssertEqual(harness.sink.received("c").count, 2, "a 400 is not retried")

        let store = harness.failedEvents
        let rows = try await store.list(.init(destinationId: "c"))
        let c1 = try XCTUnwrap(rows.first { $0.messageId == "c1" })
        XCTAssertEqual(c1.statusCode, 400)
        XCTAssertEqual(c1.attempts, 1)
        XCTAssertEqual(c1.userKey, "u1")
        XCTAssertTrue(c1.responseExcerpt?.contains("told to answer 400") == true)
        XCTAssertFalse(String(describing: c1.json).contains("secret-token"), "request auth headers are not shown")
        let check1 = try await store.list(.init(statusCode: 400, errorText: "ANSWER 400"))
        XCTAssertEqual(check1.count, 2)
        let check2 = try await store.list(.init(statusCode: 503))
        XCTAssertEqual(check2.count, 0)
        let check3 = try await store.list(.init(until: before))
        XCTAssertEqual(check3.count, 0)
        let check4 = try await store.list(.init(since: before))
        XCTAssertEqual(check4.count, 2)

        harness.sink.set("c", .ok)
        let check5 = try await store.replay(.init(ids: [c1.id]))
        XCTAssertEqual(check5, 1)
        try await harness.waitUntil("c1 delivered after replay") { harness.sink.delivered("c").map(\.messageId) == ["c1"] }
        let remaining = try await store.list(.init(destinationId: "c"))
        XCTAssertEqual(remaining.map(\.messageId), ["c2"], "replayed rows leave the default listing")
        let check6 = try await store.list(.init(destinationId: "c", includeReplayed: true))
        XCTAssertEqual(check6.first { $0.id == c1.id }?.replayCount, 1)
        let check7 = try await store.replay(.init(ids: [c1.id]))
        XCTAssertEqual(check7, 1, "ids replay again on request")
        try await harness.waitUntil("c1 delivered twice") { harness.sink.delivered("c").count == 2 }
        try await harness.waitUntil("replay rows drained") { try await harness.parkedRowCount(destination: "c") == 0 }
    }

    /// The router is killed in the middle of a backlog; after a restart every job is delivered,
    /// none lost, order per user kept; duplicates are only re-sends of the same messageId.
    func testRestartMidBacklogLosesNothing() async throws {
        let harness = try await RouterHarness.make()
        defer { Task { await harness.shutdown() } }
        harness.policy("d", DeliveryPolicy(minBackoff: .milliseconds(100), maxBackoff: .milliseconds(400), maxConcurrency: 4, timeout: .seconds(2)))
        let (messages, order) = harness.backlog(destination: "d", count: 1500, users: 30)
        try await harness.produce(messages)

        let first = try harness.startRouter(limits: .init(maxQueuedPerKey: 10, maxQueuedPerDestination: 100))
        try await harness.waitUntil("a third delivered") { harness.sink.delivered("d").count >= 500 }
        await first.kill()
        let atKill = harness.sink.delivered("d").count
        XCTAssertLessThan(Set(harness.sink.delivered("d").map(\.messageId)).count, 1500, "killed in the middle")

        let second = try harness.startRouter(limits: .init(maxQueuedPerKey: 10, maxQueuedPerDestination: 100))
        defer { Task { await second.kill() } }
        try await harness.waitUntil("everything delivered after restart", timeout: .seconds(60)) {
            Set(harness.sink.delivered("d").map(\.messageId)).count == 1500
        }
        let delivered = harness.sink.delivered("d")
        let duplicates = delivered.count - Set(delivered.map(\.messageId)).count
        print("router restart: \(atKill) delivered before the kill, \(duplicates) duplicates after restart")
        XCTAssertEqual(harness.sink.received("d").firstDeliveriesByUser, order, "order per user kept across the restart")
        try await harness.waitUntil("parked rows drained") { try await harness.parkedRowCount(destination: "d") == 0 }
    }

    /// The router is killed while a destination is down: each user's first jobs are in memory
    /// (undelivered, so their offsets are not stored) and the later ones parked. After a restart
    /// the first jobs, read again from Kafka, are delivered before the parked ones, and the parked
    /// jobs read again are not sent twice.
    func testRestartWhileBlockedKeepsOrderAheadOfParkedJobs() async throws {
        let harness = try await RouterHarness.make()
        defer { Task { await harness.shutdown() } }
        harness.sink.set("e", .status(503))
        let (messages, order) = harness.backlog(destination: "e", count: 120, users: 6)
        try await harness.produce(messages)
        let limits = DeliveryScheduler.Limits(maxQueuedPerKey: 3, maxQueuedPerDestination: 1000)
        let first = try harness.startRouter(limits: limits)
        // 6 users × 3 jobs in memory, the other 102 parked.
        try await harness.waitUntil("the backlog beyond memory parked") { try await harness.parkedRowCount(destination: "e") == 102 }
        try await Task.sleep(for: .milliseconds(300))  // offsets of the parked jobs stored and committed
        await first.kill()

        harness.sink.set("e", .ok)
        let second = try harness.startRouter(limits: limits)
        defer { Task { await second.kill() } }
        try await harness.waitUntil("everything delivered after the restart", timeout: .seconds(60)) {
            Set(harness.sink.delivered("e").map(\.messageId)).count == 120
        }
        try await harness.waitUntil("parked rows drained") { try await harness.parkedRowCount(destination: "e") == 0 }
        try await Task.sleep(for: .milliseconds(300))
        XCTAssertEqual(harness.sink.received("e").firstDeliveriesByUser, order, "order per user kept across the restart")
        let delivered = harness.sink.delivered("e")
        XCTAssertEqual(delivered.count, 120, "no job delivered twice (\(delivered.count - 120) duplicates)")
    }

    /// Two router replicas: A parks a blocked destination's backlog, then B joins the group and
    /// takes over half the partitions, and with them the parked rows of their keys (A gives them
    /// up). Once the destination recovers every job arrives, in order per user, and no parked job
    /// is sent by both replicas.
    func testSecondReplicaTakesOverTheParkedRowsOfItsPartitions() async throws {
        let harness = try await RouterHarness.make(partitions: 4)
        defer { Task { await harness.shutdown() } }
        harness.sink.set("f", .status(503))
        let (messages, order) = harness.backlog(destination: "f", count: 300, users: 30)
        try await harness.produce(messages)
        let limits = DeliveryScheduler.Limits(maxQueuedPerKey: 2, maxQueuedPerDestination: 1000)
        let a = try harness.startRouter(limits: limits)
        defer { Task { await a.kill() } }
        try await harness.waitUntil("A parked the backlog beyond memory") { try await harness.parkedRowCount(destination: "f") == 240 }

        let b = try harness.startRouter(limits: limits)
        defer { Task { await b.kill() } }
        try await harness.waitUntil("the partitions are split", timeout: .seconds(30)) {
            a.consumer.assignment.count == 2 && b.consumer.assignment.count == 2
        }
        try await Task.sleep(for: .milliseconds(500))
        harness.sink.set("f", .ok)
        try await harness.waitUntil("everything delivered", timeout: .seconds(60)) {
            Set(harness.sink.delivered("f").map(\.messageId)).count == 300
        }
        try await harness.waitUntil("parked rows drained") { try await harness.parkedRowCount(destination: "f") == 0 }
        try await Task.sleep(for: .milliseconds(500))

        XCTAssertEqual(harness.sink.received("f").firstDeliveriesByUser, order, "order per user kept across the rebalance")
        let delivered = harness.sink.delivered("f").map(\.messageId)
        var times: [String: Int] = [:]
        for id in delivered { times[id, default: 0] += 1 }
        let parkedTwice = times.filter { id, n in n > 1 && Int(id.dropFirst(2))! >= 60 }
        XCTAssertEqual(parkedTwice.count, 0, "parked jobs sent by both replicas: \(parkedTwice.keys.sorted())")
        print("router replicas: \(delivered.count - 300) duplicates, all of jobs that were in memory at the rebalance")
    }
}

func median(_ values: [Double]) -> Double {
    guard !values.isEmpty else { return .nan }
    let sorted = values.sorted()
    return sorted[sorted.count / 2]
}

extension Duration {
    var inSeconds: Double {
        let (s, atto) = components
        return Double(s) + Double(atto) / 1e18
    }
}

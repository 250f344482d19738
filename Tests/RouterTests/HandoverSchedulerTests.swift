import struct Destinations.DestinationRequest
import EventModel
import XCTest

@testable import RouterService

/// Parked rows taken over from an earlier owner of a partition, and partitions given away, without
/// sockets (DeliveryScheduler+Handover.swift).
final class HandoverSchedulerTests: XCTestCase {
    let t0 = ContinuousClock.now
    let partition = PartitionRef(topic: "keel.deliver.webhook", partition: 0)
    let key = DeliveryKey(destinationId: "A", userKey: "u1")
    let policy = DeliveryPolicy()

    func job(_ user: String, _ id: String) -> DeliveryJob {
        DeliveryJob(
            destinationId: "A", destinationType: "webhook", messageId: id, userKey: user,
            requests: [DestinationRequest(method: .post, url: "http://127.0.0.1/A")])
    }

    func sentIds(_ actions: [DeliveryScheduler.Action]) -> [String] {
        actions.compactMap { if case .send(let job) = $0 { job.job.messageId } else { nil } }
    }

    func loads(_ actions: [DeliveryScheduler.Action]) -> [DeliveryKey] {
        actions.compactMap { if case .loadParked(let key, _, _) = $0 { key } else { nil } }
    }

    /// A scheduler taking `partition`, seeded with u1's 3 rows parked from offsets 12…14 while the
    /// group's committed offset is `committed`, and the seed's actions.
    func seeded(committed: Int64) -> (DeliveryScheduler, [DeliveryScheduler.Action]) {
        var s = DeliveryScheduler()
        s.acceptedPartitions = [partition]
        let rows = ParkedKeyCount(
            key: key, topic: partition.topic, count: 3, parkedOffsets: ParkedOffsets(partition: partition, first: 12, last: 14))
        let actions = s.seedParked([rows], committed: [partition: committed]) { _ in self.policy }
        return (s, actions)
    }

    /// u1's jobs at offsets 10 and 11 were in the earlier owner's memory, 12…14 parked; the group
    /// committed 10. Read again: 10 and 11 go out first, 12…14 are the parked rows (dropped), 15 is
    /// new and parks behind them; the rows load only after 11 is delivered.
    func testJobsReadAgainGoAheadOfTheParkedRowsAndParkedOnesAreNotSentTwice() {
        var (s, first) = seeded(committed: 10)
        XCTAssertTrue(loads(first).isEmpty, "rows wait until the partition is read up to them")
        XCTAssertEqual(s.keysAwaitingHandover, 1)

        XCTAssertEqual(sentIds(s.enqueue(job("u1", "m10"), from: partition, offset: 10, policy: policy, now: t0)), ["m10"])
        XCTAssertEqual(sentIds(s.enqueue(job("u1", "m11"), from: partition, offset: 11, policy: policy, now: t0)), [])
        XCTAssertEqual(s.keysAwaitingHandover, 1, "not yet read up to offset 12")
        for offset in 12...14 {
            XCTAssertTrue(s.enqueue(job("u1", "m\(offset)"), from: partition, offset: Int64(offset), policy: policy, now: t0).isEmpty)
        }
        XCTAssertEqual(s.copiesOfParkedDropped, 3)
        XCTAssertEqual(s.keysAwaitingHandover, 0)
        _ = s.enqueue(job("u1", "m15"), from: partition, offset: 15, policy: policy, now: t0)
        XCTAssertEqual(s.takeParkBatch().map(\.job.messageId), ["m15"], "a new job parks behind the rows")
        XCTAssertEqual(s.keys[key]?.queue.count, 2, "only m10 and m11 are in memory")

        let m10 = s.keys[key]!.queue.first!
        XCTAssertEqual(sentIds(s.completed(m10, result: .delivered(statusCode: 200), now: t0, jitter: 0)), ["m11"])
        let m11 = s.keys[key]!.queue.first!
        let afterMemory = s.completed(m11, result: .delivered(statusCode: 200), now: t0, jitter: 0)
        XCTAssertEqual(loads(afterMemory), [key], "the parked rows come after the jobs ahead of them")
        XCTAssertEqual(s.takeStorableOffsets(), [partition: 15], "the dropped copies count as done")
    }

    /// Nothing of the key before its rows is read again (the committed offset is past `first`):
    /// the rows load at once, and copies read again are still dropped.
    func testRowsLoadAtOnceWhenNothingBeforeThemIsReadAgain() {
        var (s, actions) = seeded(committed: 13)
        XCTAssertEqual(loads(actions), [key])
        XCTAssertTrue(s.enqueue(job("u1", "m13"), from: partition, offset: 13, policy: policy, now: t0).isEmpty, "a copy of a parked row")
        XCTAssertEqual(s.heldKeys, 1)
        _ = s.enqueue(job("u2", "n15"), from: partition, offset: 15, policy: policy, now: t0)
        XCTAssertEqual(s.heldKeys, 0, "read past the last row: the hold is over")
    }

    /// Committed past the last row: nothing is read again, no hold at all.
    func testNoHoldWhenCommittedPastTheRows() {
        let (s, actions) = seeded(committed: 15)
        XCTAssertEqual(loads(actions), [key])
        XCTAssertEqual(s.heldKeys, 0)
    }

    /// A revoke gives up the partition's jobs in memory except a head in flight: the next owner
    /// reads them again.
    func testRevokeGivesUpJobsInMemoryButTheHeadInFlightFinishes() {
        var s = DeliveryScheduler()
        s.acceptedPartitions = [partition]
        let one = DeliveryPolicy(maxConcurrency: 1)
        XCTAssertEqual(sentIds(s.enqueue(job("u1", "m0"), from: partition, offset: 0, policy: one, now: t0)), ["m0"])
        _ = s.enqueue(job("u1", "m1"), from: partition, offset: 1, policy: one, now: t0)
        XCTAssertEqual(sentIds(s.enqueue(job("u2", "n2"), from: partition, offset: 2, policy: one, now: t0)), [], "waits for a slot")
        XCTAssertEqual(s.jobsInMemory, 3)
        let head = s.keys[key]!.queue.first!
        s.partitionsRevoked([partition]) { _ in false }
        XCTAssertEqual(s.jobsInMemory, 1, "only the head in flight stays")
        XCTAssertEqual(sentIds(s.completed(head, result: .delivered(statusCode: 200), now: t0, jitter: 0)), [], "m1 and n2 were given up")
        XCTAssertEqual(s.trackedKeys, 0)
        XCTAssertEqual(s.takeStorableOffsets(), [:], "the revoked partition's offsets are not ours")
    }

    /// A revoke stops taking the partition's jobs, forgets its offsets, and gives away the unloaded
    /// parked rows of keys no longer owned; keys still owned keep theirs.
    func testRevokeGivesAwayParkedRowsOfKeysNoLongerOwned() {
        var s = DeliveryScheduler(limits: .init(maxQueuedPerKey: 1))
        s.acceptedPartitions = [partition]
        let other = DeliveryKey(destinationId: "A", userKey: "u2")
        _ = s.seedParked(
            [ParkedKeyCount(key: key, topic: partition.topic, count: 4), ParkedKeyCount(key: other, topic: partition.topic, count: 2)],
            committed: [:]
        ) { _ in self.policy }
        XCTAssertEqual(s.parkedRows(of: key), 4)
        s.partitionsRevoked([partition]) { $0 == other }
        XCTAssertEqual(s.parkedRows(of: key), 0, "u1's rows are the next owner's")
        XCTAssertEqual(s.parkedRows(of: other), 2)
        XCTAssertTrue(s.enqueue(job("u1", "late"), from: partition, offset: 30, policy: policy, now: t0).isEmpty, "the partition is no longer taken")
        XCTAssertEqual(s.takeParkBatch().count, 0)
    }
}


extension HandoverSchedulerTests {
    /// Jobs waiting to be parked when their partition is revoked are not written (the next owner
    /// reads them again), and a batch the writer had already taken is not counted as ours.
    func testRevokeDropsJobsNotYetParkedAndForgetsRowsWrittenAfterIt() {
        var s = DeliveryScheduler(limits: .init(maxQueuedPerKey: 1, parkWriteBatch: 2))
        s.acceptedPartitions = [partition]
        for offset in 0..<5 { _ = s.enqueue(job("u1", "m\(offset)"), from: partition, offset: Int64(offset), policy: policy, now: t0) }
        let writing = s.takeParkBatch()
        XCTAssertEqual(writing.map(\.job.messageId), ["m1", "m2"])
        s.partitionsRevoked([partition]) { _ in false }
        XCTAssertFalse(s.takeParkBatch().contains { $0.job.messageId == "m3" }, "m3 and m4 are not written")
        _ = s.parkWritten(writing, now: t0)
        XCTAssertEqual(s.parkedRows(of: key), 0)
        XCTAssertFalse(s.isParking)
    }
}

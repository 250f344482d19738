import BatchRouterService
import EventModel
import Foundation
import KafkaTransport
import Synchronization
import XCTest

/// When buffers flush, what a failure does, and how offsets follow flushes (no I/O).
final class FlushSchedulerTests: XCTestCase {
    let p0 = TopicPartition(topic: "keel.batch", partition: 0)
    let t0 = ContinuousClock.now
    let wall = Date(timeIntervalSince1970: 1_796_000_000)

    func makeScheduler(maxRows: Int = 3, maxBytes: Int = 1 << 20) -> FlushScheduler {
        let counter = Mutex(0)
        return FlushScheduler(
            limits: .init(maxRows: maxRows, maxBytes: maxBytes, overflowFactor: 2, retryDelay: .seconds(5), maxRetryDelay: .seconds(60)),
            makeID: {
                counter.withLock { value in
                    value += 1
                    return "job-\(value)"
                }
            },
            jitter: { 1 })
    }

    func row(_ offset: Int64, size: Int = 10) -> PendingRow {
        PendingRow(partition: p0, offset: offset, sourceId: "web", event: ["messageId": .string("m\(offset)")], size: size)
    }

    func testTheRowCapFlushesAtOnceAndTheIntervalFlushesTheRest() throws {
        var scheduler = makeScheduler()
        XCTAssertNil(scheduler.add(row(0), destinationId: "s3", interval: .seconds(60), now: t0, wallClock: wall))
        XCTAssertNil(scheduler.add(row(1), destinationId: "s3", interval: .seconds(60), now: t0, wallClock: wall))
        let job = try XCTUnwrap(scheduler.add(row(2), destinationId: "s3", interval: .seconds(60), now: t0, wallClock: wall))
        XCTAssertEqual(job.rows.map(\.offset), [0, 1, 2])
        XCTAssertEqual(job.attempt, 1)

        XCTAssertNil(scheduler.add(row(3), destinationId: "s3", interval: .seconds(60), now: t0 + .seconds(1), wallClock: wall))
        XCTAssertEqual(scheduler.due(now: t0 + .seconds(30), wallClock: wall).count, 0, "not yet waited 60 s")
        XCTAssertEqual(scheduler.due(now: t0 + .seconds(61), wallClock: wall).count, 0, "one flush per destination at a time")
        XCTAssertEqual(scheduler.succeeded(job), [p0: 3])
        let late = scheduler.due(now: t0 + .seconds(61), wallClock: wall)
        XCTAssertEqual(late.map { $0.rows.map(\.offset) }, [[3]])
        XCTAssertEqual(scheduler.succeeded(late[0]), [p0: 4])
    }

    func testTheByteCapFlushes() {
        var scheduler = makeScheduler(maxRows: 1000, maxBytes: 100)
        XCTAssertNil(scheduler.add(row(0, size: 60), destinationId: "d", interval: .seconds(60), now: t0, wallClock: wall))
        XCTAssertNotNil(scheduler.add(row(1, size: 60), destinationId: "d", interval: .seconds(60), now: t0, wallClock: wall))
    }

    func testAFailedFlushKeepsItsRowsAndOffsetsAndRetriesAfterBackoffWithTheSameId() throws {
        var scheduler = makeScheduler()
        for offset in Int64(0)..<2 {
            _ = scheduler.add(row(offset), destinationId: "wh", interval: .seconds(10), now: t0, wallClock: wall)
        }
        _ = scheduler.add(row(2), destinationId: "other", interval: .seconds(10), now: t0, wallClock: wall)
        let jobs = scheduler.due(now: t0 + .seconds(10), wallClock: wall)
        XCTAssertEqual(jobs.map(\.destinationId), ["other", "wh"])
        let failing = try XCTUnwrap(jobs.last)

        // The other destination's flush succeeds, but offsets 0 and 1 are not durable: nothing moves.
        XCTAssertEqual(scheduler.succeeded(jobs[0]), [:])
        XCTAssertEqual(scheduler.failed(failing, now: t0 + .seconds(11)), .seconds(5))
        XCTAssertEqual(scheduler.offsets.position(p0), 0)
        _ = scheduler.add(row(3), destinationId: "wh", interval: .seconds(10), now: t0 + .seconds(12), wallClock: wall)

        XCTAssertTrue(scheduler.due(now: t0 + .seconds(15), wallClock: wall).isEmpty, "backing off")
        let retry = try XCTUnwrap(scheduler.due(now: t0 + .seconds(16), wallClock: wall).first)
        XCTAssertEqual(retry.id, failing.id, "a retry keeps the job id (history, object keys)")
        XCTAssertEqual(retry.attempt, 2)
        XCTAssertEqual(retry.createdAt, failing.createdAt)
        XCTAssertEqual(retry.rows.map(\.offset), [0, 1, 3], "the failed rows first, then the new ones")

        XCTAssertEqual(scheduler.failed(retry, now: t0 + .seconds(17)), .seconds(10), "the delay doubles")
        let third = try XCTUnwrap(scheduler.due(now: t0 + .seconds(27), wallClock: wall).first)
        XCTAssertEqual(third.attempt, 3)
        XCTAssertEqual(scheduler.succeeded(third), [p0: 4])
    }

    func testAStuckDestinationBecomesOverfullAtTheOverflowLimit() throws {
        var scheduler = makeScheduler(maxRows: 2)
        _ = scheduler.add(row(0), destinationId: "wh", interval: .seconds(10), now: t0, wallClock: wall)
        let job = try XCTUnwrap(scheduler.add(row(1), destinationId: "wh", interval: .seconds(10), now: t0, wallClock: wall))
        for offset in Int64(2)..<5 {
            XCTAssertNil(scheduler.add(row(offset), destinationId: "wh", interval: .seconds(10), now: t0, wallClock: wall))
        }
        XCTAssertEqual(scheduler.overfull, [], "3 rows buffered, the limit is 2 × 2")
        _ = scheduler.add(row(5), destinationId: "wh", interval: .seconds(10), now: t0, wallClock: wall)
        XCTAssertEqual(scheduler.overfull, ["wh"])
        _ = scheduler.succeeded(job)
        let next = scheduler.due(now: t0, wallClock: wall)
        XCTAssertEqual(next.first?.rows.count, 4, "at the cap, the next flush starts without waiting for the interval")
        XCTAssertEqual(scheduler.overfull, [])
    }

    func testARevokeDropsTheRowsOfThatPartition() {
        var scheduler = makeScheduler(maxRows: 100)
        let p1 = TopicPartition(topic: "keel.batch", partition: 1)
        _ = scheduler.add(row(0), destinationId: "d", interval: .seconds(1), now: t0, wallClock: wall)
        _ = scheduler.add(
            PendingRow(partition: p1, offset: 0, sourceId: "web", event: [:], size: 1), destinationId: "d", interval: .seconds(1),
            now: t0, wallClock: wall)
        scheduler.revoke([p0])
        let jobs = scheduler.due(now: t0 + .seconds(1), wallClock: wall)
        XCTAssertEqual(jobs.first?.rows.map(\.partition), [p1])
        XCTAssertEqual(scheduler.succeeded(jobs[0]), [p1: 1])
    }
}

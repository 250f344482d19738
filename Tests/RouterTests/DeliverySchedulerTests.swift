import struct Destinations.DestinationRequest
import EventModel
import XCTest

@testable import RouterService

/// The scheduler state machine, without sockets: order per key, isolation, backoff, parking, offsets.
final class DeliverySchedulerTests: XCTestCase {
    let t0 = ContinuousClock.now
    let partition = PartitionRef(topic: "keel.deliver.webhook", partition: 0)

    func job(_ destination: String, _ user: String, _ id: String) -> DeliveryJob {
        DeliveryJob(
            destinationId: destination, destinationType: "webhook", messageId: id, userKey: user,
            requests: [DestinationRequest(method: .post, url: "http://127.0.0.1/\(destination)")]
        )
    }

    func sends(_ actions: [DeliveryScheduler.Action]) -> [ScheduledJob] {
        actions.compactMap { if case .send(let job) = $0 { job } else { nil } }
    }

    func sentIds(_ actions: [DeliveryScheduler.Action]) -> [String] { sends(actions).map(\.job.messageId) }

    static let retry503 = AttemptResult.failed(DeliveryFailure(kind: .status, statusCode: 503, reason: "HTTP 503", retryable: true))
    static let abort400 = AttemptResult.failed(DeliveryFailure(kind: .status, statusCode: 400, reason: "HTTP 400", retryable: false))

    func testOneInFlightPerKeyAndNextReleasedOnDelivery() {
        var s = DeliveryScheduler()
        let policy = DeliveryPolicy()
        XCTAssertEqual(sentIds(s.enqueue(job("A", "u1", "m1"), from: partition, offset: 0, policy: policy, now: t0)), ["m1"])
        XCTAssertEqual(sentIds(s.enqueue(job("A", "u1", "m2"), from: partition, offset: 1, policy: policy, now: t0)), [])
        XCTAssertEqual(sentIds(s.enqueue(job("A", "u2", "m3"), from: partition, offset: 2, policy: policy, now: t0)), ["m3"])
        // u2 finishing first does not release u1's second job, and offsets wait for offset 0.
        let u2 = s.keys[DeliveryKey(destinationId: "A", userKey: "u2")]!.queue.first!
        XCTAssertEqual(sentIds(s.completed(u2, result: .delivered(statusCode: 200), now: t0, jitter: 0)), [])
        XCTAssertEqual(s.takeStorableOffsets(), [:])
        let u1 = s.keys[DeliveryKey(destinationId: "A", userKey: "u1")]!.queue.first!
        XCTAssertEqual(sentIds(s.completed(u1, result: .delivered(statusCode: 200), now: t0, jitter: 0)), ["m2"])
        XCTAssertEqual(s.takeStorableOffsets(), [partition: 1])
        let m2 = s.keys[DeliveryKey(destinationId: "A", userKey: "u1")]!.queue.first!
        _ = s.completed(m2, result: .delivered(statusCode: 200), now: t0, jitter: 0)
        XCTAssertEqual(s.takeStorableOffsets(), [partition: 3])
        XCTAssertEqual(s.trackedKeys, 0, "finished keys are forgotten")
    }

    func testRetryHoldsTheKeyButNotOthersThenResendsTheSameJobFirst() {
        var s = DeliveryScheduler()
        let policy = DeliveryPolicy(minBackoff: .seconds(10), maxBackoff: .seconds(300))
        let first = sends(s.enqueue(job("A", "u1", "m1"), from: partition, offset: 0, policy: policy, now: t0))[0]
        _ = s.enqueue(job("A", "u1", "m2"), from: partition, offset: 1, policy: policy, now: t0)
        let actions = s.completed(first, result: Self.retry503, now: t0, jitter: 1)
        XCTAssertEqual(sentIds(actions), [])
        XCTAssertTrue(actions.contains { if case .armTimer(let at) = $0 { at == t0 + .seconds(10) } else { false } })
        // Another user of the same destination goes straight out.
        XCTAssertEqual(sentIds(s.enqueue(job("A", "u2", "m3"), from: partition, offset: 2, policy: policy, now: t0 + .seconds(1))), ["m3"])
        XCTAssertEqual(sentIds(s.tick(now: t0 + .seconds(5))), [], "backoff not over")
        let retried = sends(s.tick(now: t0 + .seconds(10)))
        XCTAssertEqual(retried.map(\.job.messageId), ["m1"])
        XCTAssertEqual(retried[0].attempts, 2)
        XCTAssertEqual(sentIds(s.completed(retried[0], result: .delivered(statusCode: 200), now: t0 + .seconds(11), jitter: 0)), ["m2"])
    }

    func testBackoffDoublesWithJitterAndHonoursRetryAfter() {
        let policy = DeliveryPolicy(minBackoff: .seconds(10), maxBackoff: .seconds(300))
        XCTAssertEqual(policy.backoff(afterAttempt: 1, jitter: 1, retryAfter: nil), .seconds(10))
        XCTAssertEqual(policy.backoff(afterAttempt: 2, jitter: 1, retryAfter: nil), .seconds(20))
        XCTAssertEqual(policy.backoff(afterAttempt: 3, jitter: 0, retryAfter: nil), .seconds(20))
        XCTAssertEqual(policy.backoff(afterAttempt: 20, jitter: 1, retryAfter: nil), .seconds(300))
        XCTAssertEqual(policy.backoff(afterAttempt: 1, jitter: 1, retryAfter: .seconds(60)), .seconds(60))
    }

    func testRetryBudgetExhaustedByTimeOrAttemptsBecomesFinalFailure() {
        var s = DeliveryScheduler()
        let policy = DeliveryPolicy(maxAttempts: 3, maxRetryDuration: .seconds(100), minBackoff: .seconds(10), maxBackoff: .seconds(10))
        var head = sends(s.enqueue(job("A", "u1", "m1"), from: partition, offset: 0, policy: policy, now: t0))[0]
        var now = t0
        for _ in 0..<2 {
            _ = s.completed(head, result: Self.retry503, now: now, jitter: 1)
            now = now + .seconds(10)
            head = sends(s.tick(now: now))[0]
        }
        XCTAssertEqual(head.attempts, 3)
        let actions = s.completed(head, result: Self.retry503, now: now, jitter: 1)
        guard case .recordFailure(let failed, let failure)? = actions.first(where: { if case .recordFailure = $0 { true } else { false } }) else {
            return XCTFail("expected a final failure, got \(actions)")
        }
        XCTAssertEqual(failed.attempts, 3)
        XCTAssertEqual(failure.statusCode, 503)
        XCTAssertEqual(s.takeStorableOffsets(), [:], "offset waits for the failure to be recorded")
        _ = s.failureRecorded(failed, now: now)
        XCTAssertEqual(s.takeStorableOffsets(), [partition: 1])

        // Time budget: the next delay would cross maxRetryDuration.
        var t = DeliveryScheduler()
        let timeBound = DeliveryPolicy(maxAttempts: 100, maxRetryDuration: .seconds(15), minBackoff: .seconds(10), maxBackoff: .seconds(10))
        let first = sends(t.enqueue(job("A", "u1", "m1"), from: partition, offset: 0, policy: timeBound, now: t0))[0]
        XCTAssertFalse(t.completed(first, result: Self.retry503, now: t0, jitter: 1).contains { if case .recordFailure = $0 { true } else { false } })
        let second = sends(t.tick(now: t0 + .seconds(10)))[0]
        XCTAssertTrue(t.completed(second, result: Self.retry503, now: t0 + .seconds(10), jitter: 1).contains { if case .recordFailure = $0 { true } else { false } })
    }

    func testNonRetryableFailsAtOnceAndNextJobFollowsAfterRecording() {
        var s = DeliveryScheduler()
        let policy = DeliveryPolicy()
        let first = sends(s.enqueue(job("A", "u1", "m1"), from: partition, offset: 0, policy: policy, now: t0))[0]
        _ = s.enqueue(job("A", "u1", "m2"), from: partition, offset: 1, policy: policy, now: t0)
        let actions = s.completed(first, result: Self.abort400, now: t0, jitter: 0)
        XCTAssertEqual(sentIds(actions), [])
        XCTAssertTrue(actions.contains { if case .recordFailure = $0 { true } else { false } })
        XCTAssertEqual(sentIds(s.failureRecorded(first, now: t0)), ["m2"])
    }

    func testConcurrencyLimitPerDestinationDoesNotLimitOthers() {
        var s = DeliveryScheduler()
        let narrow = DeliveryPolicy(maxConcurrency: 2)
        var sent: [String] = []
        for i in 0..<5 { sent += sentIds(s.enqueue(job("A", "u\(i)", "a\(i)"), from: partition, offset: Int64(i), policy: narrow, now: t0)) }
        XCTAssertEqual(sent, ["a0", "a1"])
        XCTAssertEqual(s.inFlight(destinationId: "A"), 2)
        for i in 0..<5 { sent += sentIds(s.enqueue(job("B", "u\(i)", "b\(i)"), from: partition, offset: Int64(5 + i), policy: DeliveryPolicy(), now: t0)) }
        XCTAssertEqual(sent.filter { $0.hasPrefix("b") }.count, 5)
        let a0 = s.keys[DeliveryKey(destinationId: "A", userKey: "u0")]!.queue.first!
        XCTAssertEqual(sentIds(s.completed(a0, result: .delivered(statusCode: 200), now: t0, jitter: 0)), ["a2"])
    }

    func testRateLimitSpreadsSendsOverTime() {
        var s = DeliveryScheduler()
        let policy = DeliveryPolicy(requestsPerSecond: 2)
        var sent: [String] = []
        for i in 0..<6 { sent += sentIds(s.enqueue(job("A", "u\(i)", "m\(i)"), from: partition, offset: Int64(i), policy: policy, now: t0)) }
        XCTAssertEqual(sent.count, 2, "burst of one second's worth")
        XCTAssertEqual(sentIds(s.tick(now: t0 + .milliseconds(500))).count, 1)
        XCTAssertEqual(sentIds(s.tick(now: t0 + .milliseconds(1000))).count, 1)
    }

    func testSendCarriesTheDestinationsCurrentTimeoutAndRetryKeepsProgress() {
        var s = DeliveryScheduler()
        let policy = DeliveryPolicy(minBackoff: .seconds(1), maxBackoff: .seconds(1), timeout: .seconds(7))
        let first = sends(s.enqueue(job("A", "u1", "m1"), from: partition, offset: 0, policy: policy, now: t0))[0]
        XCTAssertEqual(first.timeout, .seconds(7))
        _ = s.enqueue(job("A", "u1", "m2"), from: partition, offset: 1, policy: policy, now: t0)
        let partial = AttemptResult.failed(DeliveryFailure(kind: .timeout, reason: "timeout", retryable: true))
        _ = s.completed(first, result: partial, now: t0, jitter: 1)
        // A config reload changes the timeout of the next attempt.
        var reloaded = policy
        reloaded.timeout = .seconds(3)
        s.updatePolicy(reloaded, destinationId: "A")
        let retried = sends(s.tick(now: t0 + .seconds(1)))
        XCTAssertEqual(retried.map(\.job.messageId), ["m1"])
        XCTAssertEqual(retried[0].timeout, .seconds(3))
        XCTAssertEqual(retried[0].attempts, 2)
        XCTAssertEqual(s.queued(destinationId: "A"), 2, "the key's queue kept both jobs")
        XCTAssertEqual(sentIds(s.completed(retried[0], result: .delivered(statusCode: 200), now: t0 + .seconds(2), jitter: 0)), ["m2"])
        XCTAssertEqual(s.takeStorableOffsets(), [partition: 1])
    }

    func testRetryAfterOn429PausesTheDestination() {
        var s = DeliveryScheduler()
        let policy = DeliveryPolicy(minBackoff: .seconds(1))
        let first = sends(s.enqueue(job("A", "u1", "m1"), from: partition, offset: 0, policy: policy, now: t0))[0]
        let limited = AttemptResult.failed(DeliveryFailure(kind: .status, statusCode: 429, reason: "HTTP 429", retryable: true, retryAfter: .seconds(30)))
        _ = s.completed(first, result: limited, now: t0, jitter: 0)
        XCTAssertEqual(sentIds(s.enqueue(job("A", "u2", "m2"), from: partition, offset: 1, policy: policy, now: t0 + .seconds(1))), [])
        XCTAssertEqual(sentIds(s.enqueue(job("B", "u2", "b2"), from: partition, offset: 2, policy: policy, now: t0 + .seconds(1))), ["b2"])
        XCTAssertEqual(Set(sentIds(s.tick(now: t0 + .seconds(30)))), ["m1", "m2"])
    }

    func testBlockedKeyParksOverflowInOrderAndLoadsItBackAfterItsMemoryQueue() {
        var s = DeliveryScheduler(limits: .init(maxQueuedPerKey: 2, maxQueuedPerDestination: 100, parkedLoadBatch: 2))
        let policy = DeliveryPolicy()
        let key = DeliveryKey(destinationId: "A", userKey: "u1")
        var actions: [DeliveryScheduler.Action] = []
        for i in 0..<5 { actions += s.enqueue(job("A", "u1", "m\(i)"), from: partition, offset: Int64(i), policy: policy, now: t0) }
        XCTAssertEqual(sentIds(actions), ["m0"])
        XCTAssertEqual(actions.filter { if case .startParkWriter = $0 { true } else { false } }.count, 1)
        let batch = s.takeParkBatch()
        XCTAssertEqual(batch.map(\.job.messageId), ["m2", "m3", "m4"])
        XCTAssertTrue(s.takeParkBatch().isEmpty)
        _ = s.parkWritten(batch, now: t0)
        XCTAssertEqual(s.takeStorableOffsets(), [:], "offsets 0 and 1 are still in memory")
        // A new job for the key parks behind the others.
        _ = s.enqueue(job("A", "u1", "m5"), from: partition, offset: 5, policy: policy, now: t0)
        let late = s.takeParkBatch()
        XCTAssertEqual(late.map(\.job.messageId), ["m5"])
        _ = s.parkWritten(late, now: t0)

        let m0 = s.keys[key]!.queue.first!
        XCTAssertEqual(sentIds(s.completed(m0, result: .delivered(statusCode: 200), now: t0, jitter: 0)), ["m1"])
        let m1 = s.keys[key]!.queue.first!
        let afterMemory = s.completed(m1, result: .delivered(statusCode: 200), now: t0, jitter: 0)
        XCTAssertEqual(s.takeStorableOffsets(), [partition: 6], "parked offsets count as done")
        guard case .loadParked(let loadKey, let afterSeq, let limit)? = afterMemory.first(where: { if case .loadParked = $0 { true } else { false } }) else {
            return XCTFail("expected a load, got \(afterMemory)")
        }
        XCTAssertEqual(loadKey, key)
        XCTAssertEqual(afterSeq, 0)
        XCTAssertEqual(limit, 2)
        // While loading, new jobs still park.
        _ = s.enqueue(job("A", "u1", "m6"), from: partition, offset: 6, policy: policy, now: t0)
        let loaded = s.loadedParked(key, rows: [ParkedRow(seq: 10, job: job("A", "u1", "m2")), ParkedRow(seq: 11, job: job("A", "u1", "m3"))], now: t0)
        XCTAssertEqual(sentIds(loaded), ["m2"])
        let m2 = s.keys[key]!.queue.first!
        XCTAssertEqual(sentIds(s.completed(m2, result: .delivered(statusCode: 200), now: t0, jitter: 0)), ["m3"])
        XCTAssertEqual(s.parkedRows(of: key), 3, "m4, m5 written; m6 in the outbox")
    }

    func testDestinationOverBacklogParksNewJobsAndResumesUnderHalf() {
        var s = DeliveryScheduler(limits: .init(maxQueuedPerKey: 10, maxQueuedPerDestination: 4))
        let policy = DeliveryPolicy(maxConcurrency: 1)
        var actions: [DeliveryScheduler.Action] = []
        for i in 0..<6 { actions += s.enqueue(job("A", "u\(i)", "m\(i)"), from: partition, offset: Int64(i), policy: policy, now: t0) }
        XCTAssertEqual(s.queued(destinationId: "A"), 4)
        XCTAssertEqual(s.takeParkBatch().map(\.job.messageId), ["m4", "m5"])
        // Another destination is unaffected.
        XCTAssertEqual(sentIds(s.enqueue(job("B", "u1", "b1"), from: partition, offset: 6, policy: policy, now: t0)), ["b1"])
        XCTAssertEqual(s.jobsInMemory, 5)
    }

    func testHealthyDestinationOverItsBoundKeepsItsBacklogInMemoryUntilItStalls() {
        var s = DeliveryScheduler(limits: .init(maxQueuedPerKey: 10, maxQueuedPerDestination: 4, maxBacklogDrain: .seconds(10)))
        let policy = DeliveryPolicy(maxConcurrency: 1)
        var offset: Int64 = 0
        func add(_ user: String, at now: ContinuousClock.Instant) -> [DeliveryScheduler.Action] {
            defer { offset += 1 }
            return s.enqueue(job("A", user, "m\(offset)"), from: partition, offset: offset, policy: policy, now: now)
        }
        var inFlight = sends((0..<4).flatMap { add("u\($0)", at: t0) })
        // Two deliveries in 200 ms: 10 jobs/s, so 100 jobs drain within 10 s.
        for i in 1...2 {
            inFlight = sends(s.completed(inFlight[0], result: .delivered(statusCode: 200), now: t0 + .milliseconds(100 * i), jitter: 0))
        }
        for i in 4..<10 { _ = add("u\(i)", at: t0 + .milliseconds(200)) }
        XCTAssertEqual(s.queued(destinationId: "A"), 8, "over the bound of 4 but draining: kept in memory")
        XCTAssertTrue(s.takeParkBatch().isEmpty)
        // Nothing finishes for 5 s: 2 jobs in 5 s cannot drain 8 within 10 s, so new jobs park.
        _ = add("u10", at: t0 + .seconds(5))
        XCTAssertEqual(s.takeParkBatch().map(\.job.messageId), ["m10"])
        XCTAssertEqual(s.queued(destinationId: "A"), 8)
    }

    func testOffsetTrackerStoresOnlyTheContiguousDonePrefix() {
        var tracker = PartitionOffsetTracker()
        for offset: Int64 in [10, 11, 13, 14] { tracker.track(offset) }
        XCTAssertNil(tracker.storable)
        tracker.markDone(11)
        tracker.markDone(14)
        XCTAssertNil(tracker.storable)
        tracker.markDone(10)
        XCTAssertEqual(tracker.storable, 12)
        tracker.markDone(13)
        XCTAssertEqual(tracker.storable, 15)
        XCTAssertEqual(tracker.pendingCount, 0)
        XCTAssertFalse(tracker.track(12), "a rewound offset is ignored")
    }

    func testClassification() {
        func outcome(_ status: Int, _ retryAfter: String? = nil) -> (Bool?, Duration?) {
            switch OutcomeClassifier.classify(status: status, retryAfter: retryAfter, body: Array("nope".utf8), completedRequests: 0, now: { 784_111_777 }) {
            case .delivered: (nil, nil)
            case .failed(let failure): (failure.retryable, failure.retryAfter)
            }
        }
        XCTAssertNil(outcome(204).0)
        XCTAssertEqual(outcome(408).0, true)
        XCTAssertEqual(outcome(503).0, true)
        XCTAssertEqual(outcome(400).0, false)
        XCTAssertEqual(outcome(404).0, false)
        XCTAssertEqual(outcome(429, "7").1, .seconds(7))
        XCTAssertEqual(outcome(429, "Sun, 06 Nov 1994 08:49:37 GMT").1, .seconds(0))
        XCTAssertEqual(OutcomeClassifier.parseIMFFixdate("Sun, 06 Nov 1994 08:49:37 GMT"), 784_111_777)
    }
}

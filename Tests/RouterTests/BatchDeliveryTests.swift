import Destinations
import EventModel
import Foundation
import HTTPTestServer
import Hummingbird
import KafkaTransport
import Logging
import NIOCore
import Synchronization
import XCTest

@testable import RouterService

/// Batching in the scheduler, without sockets: heads of different users share a batch request
/// that leaves at the end of its window or when full; a user's later job never rides in the same
/// batch or ahead of an earlier one in backoff.
final class BatchSchedulerTests: XCTestCase {
    let t0 = ContinuousClock.now
    let partition = PartitionRef(topic: "keel.deliver.amplitude", partition: 0)
    let batching = Batching()

    func job(_ user: String, _ id: String, destination: String = "amp") -> RouterService.DeliveryJob {
        let body: JSON = ["api_key": "k", "events": [["user_id": .string(user), "event_type": "Played", "insert_id": .string(id)]]]
        var job = RouterService.DeliveryJob(
            destinationId: destination, destinationType: "amplitude", messageId: id, userKey: user,
            requests: [DestinationRequest(method: .post, url: "http://127.0.0.1:1/2/httpapi", headers: [("Content-Type", "application/json")], body: .json(body))])
        job.raw = Array(repeating: 0, count: 200)
        return job
    }

    func enqueue(_ s: inout DeliveryScheduler, _ job: RouterService.DeliveryJob, offset: Int64, policy: DeliveryPolicy, now: ContinuousClock.Instant)
        -> [DeliveryScheduler.Action]
    {
        s.enqueue(job, from: partition, offset: offset, policy: policy, now: now, batch: batching.ticket(for: job))
    }

    func batches(_ actions: [DeliveryScheduler.Action]) -> [[String]] {
        actions.compactMap { if case .sendBatch(let jobs) = $0 { jobs.map(\.job.messageId) } else { nil } }
    }

    func singles(_ actions: [DeliveryScheduler.Action]) -> [String] {
        actions.compactMap { if case .send(let job) = $0 { job.job.messageId } else { nil } }
    }

    func batchJobs(_ actions: [DeliveryScheduler.Action]) -> [ScheduledJob] {
        actions.flatMap { action -> [ScheduledJob] in if case .sendBatch(let jobs) = action { jobs } else { [] } }
    }

    func testHeadsOfDifferentUsersLeaveTogetherAtTheEndOfTheWindowOnePerUser() {
        var s = DeliveryScheduler()
        let policy = DeliveryPolicy(batchWindow: .milliseconds(50))
        var actions: [DeliveryScheduler.Action] = []
        for (offset, (user, id)) in [("u1", "a1"), ("u2", "b1"), ("u1", "a2"), ("u3", "c1")].enumerated() {
            actions += enqueue(&s, job(user, id), offset: Int64(offset), policy: policy, now: t0)
        }
        XCTAssertEqual(batches(actions), [], "nothing leaves before the window ends")
        XCTAssertEqual(singles(actions), [])
        XCTAssertTrue(actions.contains { if case .armTimer(let at) = $0 { at == t0 + .milliseconds(50) } else { false } })
        XCTAssertEqual(s.jobsInOpenBatches(destinationId: "amp"), 3, "u1's second job waits behind its first")
        let sent = s.tick(now: t0 + .milliseconds(50))
        XCTAssertEqual(batches(sent), [["a1", "b1", "c1"]])
        XCTAssertEqual(s.inFlight(destinationId: "amp"), 1, "a batch is one request")
        let results = Array(repeating: AttemptResult.delivered(statusCode: 200), count: 3)
        let next = s.completedBatch(batchJobs(sent), results: results, now: t0 + .milliseconds(60), jitter: 0)
        XCTAssertEqual(s.inFlight(destinationId: "amp"), 0)
        XCTAssertEqual(batches(next) + [singles(next)].filter { !$0.isEmpty }, [], "a2 waits for its own window")
        XCTAssertEqual(singles(s.tick(now: t0 + .milliseconds(110))), ["a2"], "a batch of one is the job's own request")
        XCTAssertEqual(s.takeStorableOffsets(), [partition: 2], "offset 2 (a2) is still in flight")
    }

    func testAFullBatchLeavesAtOnceAndTheRestWaits() {
        var s = DeliveryScheduler()
        var policy = DeliveryPolicy(batchWindow: .seconds(5))
        policy.batchMaxEvents = 2
        var actions: [DeliveryScheduler.Action] = []
        for index in 0..<5 { actions += enqueue(&s, job("u\(index)", "m\(index)"), offset: Int64(index), policy: policy, now: t0) }
        XCTAssertEqual(batches(actions), [["m0", "m1"], ["m2", "m3"]])
        XCTAssertEqual(s.jobsInOpenBatches(destinationId: "amp"), 1)
    }

    func testAUserInBackoffHasNoLaterJobBatchedAheadOfIt() {
        var s = DeliveryScheduler()
        let policy = DeliveryPolicy(minBackoff: .seconds(1), maxBackoff: .seconds(1), batchWindow: .zero)
        var actions = enqueue(&s, job("u1", "a1"), offset: 0, policy: policy, now: t0)
        actions += enqueue(&s, job("u2", "b1"), offset: 1, policy: policy, now: t0)
        // Window zero: each pump sends what is ready; the two heads went one by one as enqueued.
        XCTAssertEqual(singles(actions), ["a1", "b1"])
        _ = enqueue(&s, job("u1", "a2"), offset: 2, policy: policy, now: t0)
        _ = enqueue(&s, job("u2", "b2"), offset: 3, policy: policy, now: t0)
        let a1 = s.keys[DeliveryKey(destinationId: "amp", userKey: "u1")]!.queue.first!
        let failure = AttemptResult.failed(DeliveryFailure(kind: .status, statusCode: 503, reason: "HTTP 503", retryable: true))
        XCTAssertEqual(singles(s.completed(a1, result: failure, now: t0, jitter: 1)), [], "u1 backs off; a2 stays behind a1")
        let b1 = s.keys[DeliveryKey(destinationId: "amp", userKey: "u2")]!.queue.first!
        XCTAssertEqual(singles(s.completed(b1, result: .delivered(statusCode: 200), now: t0, jitter: 0)), ["b2"], "u2 goes on")
        _ = enqueue(&s, job("u3", "c1"), offset: 4, policy: policy, now: t0 + .milliseconds(10))
        let retry = s.tick(now: t0 + .seconds(1))
        XCTAssertEqual(singles(retry) + batches(retry).flatMap { $0 }, ["a1"], "a1 again, a2 still behind it")
    }

    func testSplitResultsMoveEachUserOnAlone() {
        var s = DeliveryScheduler()
        let policy = DeliveryPolicy(minBackoff: .seconds(1), maxBackoff: .seconds(1), batchWindow: .milliseconds(10))
        for (offset, (user, id)) in [("u1", "a1"), ("u2", "b1"), ("u3", "c1"), ("u1", "a2"), ("u2", "b2"), ("u3", "c2")].enumerated() {
            _ = enqueue(&s, job(user, id), offset: Int64(offset), policy: policy, now: t0)
        }
        let sent = batchJobs(s.tick(now: t0 + .milliseconds(10)))
        XCTAssertEqual(sent.map(\.job.messageId), ["a1", "b1", "c1"])
        let rejected = AttemptResult.failed(DeliveryFailure(kind: .status, statusCode: 400, reason: "HTTP 400", retryable: false))
        let retry = AttemptResult.failed(DeliveryFailure(kind: .status, statusCode: 503, reason: "HTTP 503", retryable: true))
        let actions = s.completedBatch(sent, results: [.delivered(statusCode: 200), rejected, retry], now: t0 + .milliseconds(20), jitter: 1)
        let failures = actions.compactMap { if case .recordFailure(let job, _) = $0 { job.job.messageId } else { nil } }
        XCTAssertEqual(failures, ["b1"], "the rejected job goes to failed events alone")
        XCTAssertEqual(s.jobsInOpenBatches(destinationId: "amp"), 1, "u1's next job (a2) joined a new batch; u2 waits for the record, u3 backs off")
        let failed = s.keys[DeliveryKey(destinationId: "amp", userKey: "u2")]!.queue.first!
        _ = s.failureRecorded(failed, now: t0 + .milliseconds(25))
        XCTAssertEqual(s.jobsInOpenBatches(destinationId: "amp"), 2, "b2 joined after b1's failure was recorded")
        XCTAssertEqual(batchJobs(s.tick(now: t0 + .milliseconds(30))).map(\.job.messageId), ["a2", "b2"])
    }

    func testBatchingOffSendsEachJobAlone() {
        var s = DeliveryScheduler()
        var policy = DeliveryPolicy()
        policy.batching = false
        var actions: [DeliveryScheduler.Action] = []
        for index in 0..<3 { actions += enqueue(&s, job("u\(index)", "m\(index)"), offset: Int64(index), policy: policy, now: t0) }
        XCTAssertEqual(singles(actions), ["m0", "m1", "m2"])
        XCTAssertEqual(batches(actions), [])
    }

    func testPolicyReadsBatchSettingsFromTheDestinationConfig() {
        let config: JSON = ["delivery": ["batch": false, "batchWindowMillis": 20, "batchMaxEvents": 100]]
        let policy = DeliveryPolicy.defaults(forType: "amplitude").applying(config: config)
        XCTAssertFalse(policy.batching)
        XCTAssertEqual(policy.batchWindow, .milliseconds(20))
        XCTAssertEqual(policy.batchMaxEvents, 100)
        XCTAssertEqual(DeliveryPolicy().batchWindow, .milliseconds(50))
        XCTAssertTrue(DeliveryPolicy().batching)
    }

    /// Rejected items map back to the job that contributed them, counting per array (Braze
    /// purchases: a job may carry several).
    func testRejectedItemsMapBackToTheirJobs() throws {
        func brazeJob(_ user: String, purchases: Int, events: Int) throws -> ScheduledJob {
            var body = JSONObject()
            if purchases > 0 { body["purchases"] = .array((0..<purchases).map { _ in ["external_id": .string(user), "product_id": "p"] }) }
            if events > 0 { body["events"] = .array((0..<events).map { _ in ["external_id": .string(user), "name": "Played"] }) }
            var job = RouterService.DeliveryJob(
                destinationId: "braze", destinationType: "braze", messageId: user, userKey: user,
                requests: [DestinationRequest(method: .post, url: "http://127.0.0.1:1/users/track", headers: [("Authorization", "Bearer k")], body: .json(.object(body)))])
            job.raw = Array(repeating: 0, count: 100)
            return ScheduledJob(job: job, origin: .parked(seq: 1, from: PartitionRef(topic: "keel.deliver.amplitude", partition: 0)), batch: try XCTUnwrap(batching.ticket(for: job)))
        }
        let jobs = [try brazeJob("u1", purchases: 1, events: 1), try brazeJob("u2", purchases: 2, events: 0), try brazeJob("u3", purchases: 1, events: 1)]
        let errors = [
            BatchItemError(field: "purchases", index: 2, message: "u2's second purchase"),
            BatchItemError(field: "events", index: 1, message: "u3's event"),
            BatchItemError(field: "events", index: 7, message: "out of range"),
        ]
        XCTAssertEqual(BatchDelivery.rejectedJobs(errors, jobs: jobs), [1: "u2's second purchase", 2: "u3's event"])
        let merged = try XCTUnwrap(BatchDelivery(deliverer: HTTPDeliverer(client: .shared), spec: try XCTUnwrap(batching.specs("braze"))).makeRequest(jobs))
        XCTAssertEqual(merged.url, "http://127.0.0.1:1/users/track")
        guard case .json(let body) = merged.body else { return XCTFail("the batch body is not JSON: \(merged.body)") }
        XCTAssertEqual(body["purchases"]?.arrayValue?.count, 4)
        XCTAssertEqual(body["events"]?.arrayValue?.map { $0["external_id"]?.stringValue }, ["u1", "u3"])
        XCTAssertEqual(merged.headers.map(\.value), ["Bearer k"])
    }

    func testOnlySingleRequestJobsOfBatchableTypesGetATicket() {
        XCTAssertNotNil(batching.ticket(for: job("u1", "m1")))
        var twoRequests = job("u1", "m1")
        twoRequests.requests.append(twoRequests.requests[0])
        XCTAssertNil(batching.ticket(for: twoRequests))
        var webhook = job("u1", "m1")
        webhook.destinationType = "webhook"
        XCTAssertNil(batching.ticket(for: webhook))
    }
}

/// Batching through real parts: Amplitude jobs mapped by the processor's function, produced to a
/// mock cluster, the router, and a local server answering like Amplitude's HTTP V2 and Batch
/// Event Upload APIs (`/2/httpapi`, `/batch`).
final class BatchDeliveryTests: XCTestCase {
    struct Setup {
        let harness: RouterHarness
        let server: BatchAPIServer
    }

    func makeSetup() async throws -> Setup {
        let harness = try await RouterHarness.make()
        try harness.cluster.createTopic("keel.deliver.amplitude", partitions: 3)
        let server = try await BatchAPIServer.start()
        return Setup(harness: harness, server: server)
    }

    /// Delivery jobs for Amplitude events `(user, messageId, event name)` of destination `id`,
    /// whose config points at `prefix` on the local server.
    func jobs(_ events: [(String, String, String)], destination id: String, server: BatchAPIServer, prefix: String) throws -> [OutgoingMessage] {
        let definition = try XCTUnwrap(DestinationRegistry.standard.definition(forType: "amplitude"))
        let mapper = try definition.makeMapper(["apiKey": "amp-key-123", "endpoint": .string(server.baseURL + "/" + prefix)])
        return try events.map { user, messageId, name in
            let event: JSON = ["type": "track", "event": .string(name), "userId": .string(user), "messageId": .string(messageId), "timestamp": "2026-11-29T12:00:00.000Z"]
            guard case .requests(let requests) = definition.transform(event, with: mapper) else { throw CancellationError() }
            let job = Destinations.DeliveryJob(
                workspaceId: "acme", sourceId: "web", destinationId: id, destinationType: "amplitude", messageId: messageId, userKey: user,
                eventType: "track", eventName: name, receivedAt: Timestamp.now().rfc3339, requests: requests)
            return OutgoingMessage(topic: "keel.deliver.amplitude", key: Array(job.key.utf8), value: job.serialized())
        }
    }

    func testManyEventsArriveInFewRequestsOnceEachInOrderPerUser() async throws {
        let setup = try await makeSetup()
        defer { Task { await setup.harness.shutdown(); await setup.server.stop() } }
        let users = (0..<20).map { "user-\($0)" }
        var events: [(String, String, String)] = []
        for index in 0..<10 { for user in users { events.append((user, "\(user)-m\(index)", "Played")) } }
        let running = try setup.harness.startRouter()
        defer { Task { await running.kill() } }
        try await setup.harness.produce(try jobs(events, destination: "amp", server: setup.server, prefix: "amp"))
        try await setup.harness.waitUntil("200 events accepted") { setup.server.accepted().count >= 200 }
        try await Task.sleep(for: .milliseconds(200))

        let accepted = setup.server.accepted()
        XCTAssertEqual(accepted.count, 200, "every event once")
        XCTAssertEqual(Set(accepted.map(\.insertId)).count, 200)
        let requests = setup.server.requests()
        XCTAssertLessThanOrEqual(requests.count, 40, "200 events in few requests, got \(requests.count)")
        XCTAssertTrue(requests.allSatisfy { $0.path == "/amp/batch" || $0.path == "/amp/2/httpapi" })
        XCTAssertGreaterThan(requests.filter { $0.path == "/amp/batch" }.count, 0)
        for user in users {
            XCTAssertEqual(accepted.filter { $0.userId == user }.map(\.insertId), (0..<10).map { "\(user)-m\($0)" }, "order of \(user)")
        }
        XCTAssertTrue(requests.allSatisfy { Set($0.events.map(\.userId)).count == $0.events.count }, "one event per user per request")
    }

    func testA503OnABatchRetriesItAndDeliversAll() async throws {
        let setup = try await makeSetup()
        defer { Task { await setup.harness.shutdown(); await setup.server.stop() } }
        setup.server.unavailable("amp", for: .milliseconds(800))
        var events: [(String, String, String)] = []
        for index in 0..<5 { for user in 0..<6 { events.append(("user-\(user)", "u\(user)-m\(index)", "Played")) } }
        let running = try setup.harness.startRouter()
        defer { Task { await running.kill() } }
        try await setup.harness.produce(try jobs(events, destination: "amp", server: setup.server, prefix: "amp"))
        try await setup.harness.waitUntil("30 events accepted") { Set(setup.server.accepted().map(\.insertId)).count >= 30 }
        try await Task.sleep(for: .milliseconds(200))

        let requests = setup.server.requests()
        XCTAssertGreaterThan(requests.filter { $0.status == 503 && $0.events.count > 1 }.count, 0, "a whole batch was answered 503")
        let accepted = setup.server.accepted()
        XCTAssertEqual(Set(accepted.map(\.insertId)).count, 30)
        XCTAssertEqual(accepted.count, 30, "a 503'd batch is not counted as accepted, so no event twice")
        for user in 0..<6 {
            XCTAssertEqual(accepted.filter { $0.userId == "user-\(user)" }.map(\.insertId), (0..<5).map { "u\(user)-m\($0)" })
        }
        let failed = try await setup.harness.failedEvents.list(FailedEventFilter(destinationId: "amp"))
        XCTAssertEqual(failed.count, 0)
    }

    func testABadEventInABatchFailsAloneWhileItsNeighboursAreDelivered() async throws {
        let setup = try await makeSetup()
        defer { Task { await setup.harness.shutdown(); await setup.server.stop() } }
        // "items": the server lists rejected events (Amplitude's 400 with events_with_invalid_fields,
        // rejecting the whole upload); "plain": a 400 that names nothing, so each job goes alone.
        var messages: [OutgoingMessage] = []
        for prefix in ["items", "plain"] {
            var events: [(String, String, String)] = []
            for user in 0..<8 { events.append(("user-\(user)", "\(prefix)-u\(user)-m0", user == 3 ? "Poison" : "Played")) }
            for user in 0..<8 { events.append(("user-\(user)", "\(prefix)-u\(user)-m1", "Played")) }
            messages += try jobs(events, destination: "amp-\(prefix)", server: setup.server, prefix: prefix)
        }
        let running = try setup.harness.startRouter()
        defer { Task { await running.kill() } }
        try await setup.harness.produce(messages)
        try await setup.harness.waitUntil("30 good events accepted") { Set(setup.server.accepted().map(\.insertId)).count >= 30 }
        try await Task.sleep(for: .milliseconds(300))

        let accepted = setup.server.accepted()
        XCTAssertEqual(accepted.count, 30, "15 good events per destination, each once")
        XCTAssertFalse(accepted.contains { $0.eventType == "Poison" })
        for prefix in ["items", "plain"] {
            let failed = try await setup.harness.failedEvents.list(FailedEventFilter(destinationId: "amp-\(prefix)"))
            XCTAssertEqual(failed.map(\.messageId), ["\(prefix)-u3-m0"], "\(prefix): only the bad event failed")
            XCTAssertEqual(failed.first?.statusCode, 400)
            for user in 0..<8 {
                let expected = user == 3 ? ["\(prefix)-u3-m1"] : ["\(prefix)-u\(user)-m0", "\(prefix)-u\(user)-m1"]
                XCTAssertEqual(accepted.filter { $0.insertId.hasPrefix("\(prefix)-u\(user)-") }.map(\.insertId), expected)
            }
        }
        let requests = setup.server.requests()
        XCTAssertTrue(requests.contains { $0.path == "/items/batch" && $0.status == 400 && $0.events.count > 1 }, "the batch with the bad event")
        XCTAssertTrue(requests.contains { $0.path == "/plain/2/httpapi" && $0.status == 400 }, "plain: the bad event sent alone")
        let itemsFailure = try await setup.harness.failedEvents.list(FailedEventFilter(destinationId: "amp-items")).first
        XCTAssertEqual(itemsFailure?.responseExcerpt, "invalid field event_type")
    }

    func testAUserWhoseFirstEventIsRetriedGetsNoLaterEventFirst() async throws {
        let setup = try await makeSetup()
        defer { Task { await setup.harness.shutdown(); await setup.server.stop() } }
        // Requests carrying a "Flaky" event answer 503 for a while.
        setup.server.flaky(for: .seconds(1))
        var events: [(String, String, String)] = [("user-slow", "slow-m0", "Flaky")]
        for index in 1..<5 { events.append(("user-slow", "slow-m\(index)", "Played")) }
        for index in 0..<5 { for user in 0..<4 { events.append(("user-\(user)", "u\(user)-m\(index)", "Played")) } }
        let running = try setup.harness.startRouter()
        defer { Task { await running.kill() } }
        try await setup.harness.produce(try jobs(events, destination: "amp", server: setup.server, prefix: "amp"))
        try await setup.harness.waitUntil("25 events accepted") { Set(setup.server.accepted().map(\.insertId)).count >= 25 }
        try await Task.sleep(for: .milliseconds(200))

        let requests = setup.server.requests()
        let firstAccept = try XCTUnwrap(requests.firstIndex { $0.status == 200 && $0.events.contains { $0.insertId == "slow-m0" } })
        XCTAssertGreaterThan(requests.filter { $0.status == 503 }.count, 0, "slow-m0 was retried")
        let laterSeenEarly = requests[..<firstAccept].flatMap(\.events).filter { $0.userId == "user-slow" && $0.insertId != "slow-m0" }
        XCTAssertEqual(laterSeenEarly.map(\.insertId), [], "no later event of the user was sent before its first was delivered")
        // A 503 on a batch backs off all of its jobs (the answer does not say which event caused
        // it), so other users riding with slow-m0 wait too; each of them still in order.
        for user in 0..<4 {
            XCTAssertEqual(setup.server.accepted().filter { $0.userId == "user-\(user)" }.map(\.insertId), (0..<5).map { "u\(user)-m\($0)" })
        }
        let accepted = setup.server.accepted()
        XCTAssertEqual(accepted.filter { $0.userId == "user-slow" }.map(\.insertId), (0..<5).map { "slow-m\($0)" })
        XCTAssertEqual(accepted.count, 25)
    }
}

/// A local server answering like Amplitude's `/2/httpapi` and `/batch` under a path prefix
/// (`/<prefix>/batch`): 400 `Invalid API key` unless `api_key` matches; 503 for a while from the
/// first request when told so (for the prefix, or for requests carrying a `Flaky` event); events named `Poison` are invalid: under
/// prefix `items` the 400 lists them (`events_with_invalid_fields.event_type`), elsewhere it names
/// nothing. A 400 rejects the whole upload (Amplitude's rule); a 200 accepts every event.
final class BatchAPIServer: Sendable {
    struct Event: Sendable {
        var insertId: String
        var userId: String
        var eventType: String
    }

    struct Request: Sendable {
        var path: String
        var status: Int
        var events: [Event]
    }

    struct State {
        var requests: [Request] = []
        var accepted: [Event] = []
        /// Per prefix: how long to answer 503 from its first request, then until when.
        var unavailableFor: [String: Duration] = [:]
        var unavailableUntil: [String: ContinuousClock.Instant] = [:]
        var flakyFor: Duration?
        var flakyUntil: ContinuousClock.Instant?
    }

    private let server: LoopbackHTTPServer
    private let state = Mutex(State())
    var baseURL: String { server.baseURL }

    private init(server: LoopbackHTTPServer) {
        self.server = server
    }

    private final class Box: Sendable {
        let server = Mutex<BatchAPIServer?>(nil)
    }

    func requests() -> [Request] { state.withLock { $0.requests } }
    func accepted() -> [Event] { state.withLock { $0.accepted } }
    /// Answers 503 on `prefix` for `duration` from its first request.
    func unavailable(_ prefix: String, for duration: Duration) { state.withLock { $0.unavailableFor[prefix] = duration } }
    /// Answers 503 to requests with a `Flaky` event for `duration` from the first of them.
    func flaky(for duration: Duration) { state.withLock { $0.flakyFor = duration } }

    func stop() async { await server.stop() }

    static func start() async throws -> BatchAPIServer {
        let box = Box()
        let router = Hummingbird.Router()
        router.post("**") { request, _ -> Response in
            let bytes = Array(try await request.body.collect(upTo: 32 << 20).readableBytesView)
            let body = (try? JSON(parsing: bytes)) ?? .null
            let (status, answer) = box.server.withLock { $0 }?.answer(path: request.uri.path, body: body) ?? (503, [:])
            return Response(status: .init(code: status), body: ResponseBody(byteBuffer: ByteBuffer(string: answer.jsonString)))
        }
        let server = BatchAPIServer(server: await LoopbackHTTPServer.start(router: router, label: "batch-api"))
        box.server.withLock { $0 = server }
        return server
    }

    private func answer(path: String, body: JSON) -> (Int, JSON) {
        let prefix = String(path.split(separator: "/").first ?? "")
        let events = (body["events"]?.arrayValue ?? []).map { event in
            Event(
                insertId: event["insert_id"]?.stringValue ?? "", userId: event["user_id"]?.stringValue ?? "",
                eventType: event["event_type"]?.stringValue ?? "")
        }
        let now = ContinuousClock.now
        return state.withLock { state in
            func finish(_ status: Int, _ answer: JSON) -> (Int, JSON) {
                state.requests.append(Request(path: path, status: status, events: events))
                if status == 200 { state.accepted += events }
                return (status, answer)
            }
            guard path.hasSuffix("/batch") || path.hasSuffix("/2/httpapi") else { return finish(404, ["error": "not found"]) }
            guard body["api_key"]?.stringValue == "amp-key-123" else { return finish(400, ["code": 400, "error": "Invalid API key"]) }
            if let duration = state.unavailableFor.removeValue(forKey: prefix) { state.unavailableUntil[prefix] = now + duration }
            if let until = state.unavailableUntil[prefix], now < until { return finish(503, ["code": 503, "error": "unavailable"]) }
            if events.contains(where: { $0.eventType == "Flaky" }) {
                if let duration = state.flakyFor {
                    state.flakyFor = nil
                    state.flakyUntil = now + duration
                }
                if let until = state.flakyUntil, now < until { return finish(503, ["code": 503, "error": "unavailable"]) }
            }
            let poisoned = events.indices.filter { events[$0].eventType == "Poison" }
            if !poisoned.isEmpty {
                if prefix == "items" {
                    return finish(
                        400,
                        ["code": 400, "error": "Request missing required field",
                         "events_with_invalid_fields": ["event_type": .array(poisoned.map { .int(Int64($0)) })]])
                }
                return finish(400, ["code": 400, "error": "Invalid request"])
            }
            return finish(200, ["code": 200, "events_ingested": .int(Int64(events.count))])
        }
    }
}

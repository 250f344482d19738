import AsyncHTTPClient
import EventModel
import Foundation
import KafkaTransport
import Logging
import RouterService
import Storage
import StorageTesting
import Synchronization
import XCTest

/// Everything a router integration test needs, all real: an in-process Kafka mock cluster
/// (librdkafka), a fresh Postgres database, a local HTTP sink, one HTTP client.
final class RouterHarness: Sendable {
    static let topic = "keel.deliver.webhook"
    static let logger: Logger = {
        var logger = Logger(label: "keel.router.test")
        logger.logLevel = ProcessInfo.processInfo.environment["KEEL_TEST_ROUTER_LOG"].flatMap(Logger.Level.init(rawValue:)) ?? .critical
        return logger
    }()

    let cluster: MockKafkaCluster
    let producer: KafkaProducer
    let producerTask: Task<Void, Error>
    let testDatabase: TestDatabase
    let sink: TestSink
    let httpClient: HTTPClient
    let policies = PolicyTable()
    let defaultPolicy: DeliveryPolicy

    init(
        cluster: MockKafkaCluster, producer: KafkaProducer, producerTask: Task<Void, Error>, testDatabase: TestDatabase, sink: TestSink,
        defaultPolicy: DeliveryPolicy
    ) {
        self.cluster = cluster
        self.producer = producer
        self.producerTask = producerTask
        self.testDatabase = testDatabase
        self.sink = sink
        self.httpClient = HTTPDeliverer.makeClient()
        self.defaultPolicy = defaultPolicy
    }

    static func make(
        partitions: Int = 3,
        defaultPolicy: DeliveryPolicy = DeliveryPolicy(minBackoff: .milliseconds(100), maxBackoff: .milliseconds(400), timeout: .seconds(2))
    ) async throws -> RouterHarness {
        let testDatabase = try await TestDatabase.make(logger: logger)
        try await RouterStore(database: testDatabase.database, logger: logger).migrate()
        let cluster = try MockKafkaCluster(brokers: 1, logger: logger)
        try cluster.createTopic(topic, partitions: partitions)
        var producerConfiguration = KafkaProducer.Configuration(bootstrapServers: cluster.bootstrapServers)
        producerConfiguration.linger = .milliseconds(1)
        producerConfiguration.messageTimeout = .seconds(10)
        producerConfiguration.requestTimeout = .seconds(5)
        let producer = try KafkaProducer(configuration: producerConfiguration, logger: logger)
        let producerTask = Task { try await producer.run() }
        let sink = try await TestSink.start()
        return RouterHarness(
            cluster: cluster, producer: producer, producerTask: producerTask, testDatabase: testDatabase, sink: sink,
            defaultPolicy: defaultPolicy)
    }

    func shutdown() async {
        producerTask.cancel()
        _ = try? await producerTask.value
        await sink.stop()
        try? await httpClient.shutdown()
        try? await testDatabase.drop()
    }

    var database: Database { testDatabase.database }
    var failedEvents: FailedEventStore { FailedEventStore(database: database, logger: Self.logger) }

    /// A delivery job as the processor writes it, sending `{"messageId","userKey","sentAt"}` to
    /// the sink path `path` (default: the destination id) with an auth header.
    func job(destination: String, user: String, messageId: String, path: String? = nil) -> OutgoingMessage {
        let now = Timestamp.now()
        let body: JSON = ["messageId": .string(messageId), "userKey": .string(user), "sentAt": .int(now.millisecondsSinceEpoch)]
        let value: JSON = [
            "workspaceId": "acme", "sourceId": "web", "destinationId": .string(destination), "destinationType": "webhook",
            "messageId": .string(messageId), "userKey": .string(user), "eventType": "track", "eventName": "Clicked",
            "receivedAt": .string(now.rfc3339), "attempt": 0,
            "requests": [
                [
                    "method": "POST", "url": .string(sink.url(path ?? destination)),
                    "headers": ["Authorization": "Bearer secret-token-123"], "body": body, "bodyFormat": "json",
                ]
            ],
        ]
        return OutgoingMessage(topic: Self.topic, key: Array("\(destination):\(user)".utf8), value: value.serialized())
    }

    /// `count` jobs for `destination`, job `i` for user `<userPrefix><i % users>` with messageId
    /// `<destination>-<i>`, and the messageIds each user should receive, in order.
    func backlog(destination: String, count: Int, users: Int, userPrefix: String = "u") -> (messages: [OutgoingMessage], order: [String: [String]]) {
        var messages: [OutgoingMessage] = []
        var order: [String: [String]] = [:]
        for i in 0..<count {
            let user = "\(userPrefix)\(i % users)"
            messages.append(job(destination: destination, user: user, messageId: "\(destination)-\(i)"))
            order[user, default: []].append("\(destination)-\(i)")
        }
        return (messages, order)
    }

    func produce(_ messages: [OutgoingMessage]) async throws {
        try await producer.send(messages)
    }

    func policy(_ destination: String, _ policy: DeliveryPolicy) {
        policies.table.withLock { $0[destination] = policy }
    }

    /// Starts a router (consumer group `router`) with its own consumer.
    func startRouter(limits: DeliveryScheduler.Limits = .init(), maxJobsInMemory: Int = 20_000, sealer: JobSealer? = nil) throws -> RunningRouter {
        var configuration = KafkaConsumer.Configuration(
            bootstrapServers: cluster.bootstrapServers, groupID: "router", topics: ["^keel\\.deliver\\..*"])
        configuration.sessionTimeout = .seconds(3)
        configuration.heartbeatInterval = .milliseconds(300)
        configuration.autoCommitInterval = .milliseconds(200)
        configuration.maxBatchSize = 500
        configuration.metadataRefreshInterval = .seconds(1)
        // Fetch answers sooner on the mock cluster, so latency comparisons are not drowned by the
        // default 500 ms fetch wait.
        configuration.additionalProperties["fetch.wait.max.ms"] = "20"
        let consumer = try KafkaConsumer(configuration: configuration, logger: Self.logger)
        var routerConfiguration = Router.Configuration()
        routerConfiguration.limits = limits
        routerConfiguration.maxJobsInMemory = maxJobsInMemory
        routerConfiguration.replayPollInterval = .milliseconds(200)
        routerConfiguration.offsetStoreInterval = .milliseconds(50)
        let policies = self.policies
        let fallback = defaultPolicy
        let router = Router(
            configuration: routerConfiguration, consumer: consumer, store: RouterStore(database: database, sealer: sealer, logger: Self.logger),
            httpClient: httpClient, policies: { id, _ in policies.table.withLock { $0[id] } ?? fallback }, logger: Self.logger
        )
        return RunningRouter(consumer: consumer, router: router)
    }

    /// Waits until `condition` holds, checking every 50 ms, or fails after `timeout`.
    func waitUntil(
        _ what: String, timeout: Duration = .seconds(30), file: StaticString = #filePath, line: UInt = #line,
        _ condition: () async throws -> Bool
    ) async throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if try await condition() { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        XCTFail("timed out waiting for \(what)", file: file, line: line)
        throw CancellationError()
    }

    /// The job column of every parked and failed row.
    func storedJobTexts() async throws -> [String] {
        let rows = try await database.client.query(
            "SELECT job FROM router.parked UNION ALL SELECT job FROM router.failed", logger: Self.logger)
        var texts: [String] = []
        for try await text in rows.decode(String.self) { texts.append(text) }
        return texts
    }

    /// A parked row as an earlier run (or another replica) left it, job text as given.
    func insertParked(destination: String, user: String, text: String) async throws {
        try await database.client.query(
            """
            INSERT INTO router.parked (destination_id, user_key, topic, partition, job)
            VALUES (\(destination), \(user), \(Self.topic), -1, \(text))
            """,
            logger: Self.logger)
    }

    func parkedRowCount(destination: String) async throws -> Int {
        let rows = try await database.client.query(
            "SELECT count(*)::int8 FROM router.parked WHERE destination_id = \(destination)", logger: Self.logger)
        for try await count in rows.decode(Int64.self) { return Int(count) }
        return 0
    }
}

/// A router and its consumer running in a task; `kill()` cancels both mid-flight.
final class RunningRouter: Sendable {
    let router: Router
    let consumer: KafkaConsumer
    let task: Task<Void, Error>

    init(consumer: KafkaConsumer, router: Router) {
        self.router = router
        self.consumer = consumer
        task = Task {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await consumer.run() }
                group.addTask { try await router.run() }
                try await group.next()
                group.cancelAll()
            }
        }
    }

    /// Cancels the router and its consumer (no graceful drain) and waits for them to end.
    func kill() async {
        task.cancel()
        _ = try? await task.value
    }
}

extension Array where Element == TestSink.Received {
    /// Message ids per user, in order of first acceptance.
    var firstDeliveriesByUser: [String: [String]] {
        var seen: Set<String> = []
        var result: [String: [String]] = [:]
        for item in self where item.status == 200 && seen.insert(item.messageId).inserted {
            result[item.userKey, default: []].append(item.messageId)
        }
        return result
    }
}

/// Per-destination policies a test sets while the router runs.
final class PolicyTable: Sendable {
    let table = Mutex<[String: DeliveryPolicy]>([:])
}

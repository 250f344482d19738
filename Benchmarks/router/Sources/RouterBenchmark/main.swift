// router-bench: deliveries per second from a Kafka backlog to a local HTTP sink that answers 200
// at once. Everything real and in one process: librdkafka's mock cluster, Postgres (a scratch
// database created and dropped here), the Router as `main` wires it, a Hummingbird sink.
//
//   KEEL_DATABASE_URL=postgres://keel@127.0.0.1:15433/keel router-bench [jobs] [users] [destinations] [mode]
//
// mode: `webhook` (default: one request per job), `single` (Amplitude-format jobs, batching off:
// one `/2/httpapi` request per job) or `batch` (the same jobs, batching on: `/batch` requests;
// window `BENCH_BATCH_WINDOW_MS`, default the router's 50 ms). In `single` and `batch` the policy is
// the default one (64 in flight, no rate limit), so the two differ only in batching.
import AsyncHTTPClient
import EventModel
import Foundation
import Hummingbird
import KafkaTransport
import Logging
import PostgresNIO
import RouterService
import Storage
import Synchronization

func seconds(_ d: Duration) -> Double { Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18 }

func runBenchmark() async throws {
    let arguments = CommandLine.arguments
    let jobCount = arguments.count > 1 ? Int(arguments[1]) ?? 100_000 : 100_000
    let userCount = arguments.count > 2 ? Int(arguments[2]) ?? 1_000 : 1_000
    let destinationCount = arguments.count > 3 ? Int(arguments[3]) ?? 4 : 4
    let mode = arguments.count > 4 ? arguments[4] : "webhook"
    guard ["webhook", "single", "batch"].contains(mode) else {
        print("mode must be webhook, single or batch")
        return
    }
    let batchWindow = ProcessInfo.processInfo.environment["BENCH_BATCH_WINDOW_MS"].flatMap(Int64.init).map { Duration.milliseconds($0) }
    let logger: Logger = {
        var logger = Logger(label: "router-bench")
        logger.logLevel = .error
        return logger
    }()

    // Sink
    let received = Atomic<Int>(0)
    let requests = Atomic<Int>(0)
    let sinkRouter = Hummingbird.Router()
    sinkRouter.post("**") { request, _ -> HTTPResponse.Status in
        let body = try await request.body.collect(upTo: 64 << 20)
        // A batch request delivers as many jobs as it has events.
        if request.uri.path.hasSuffix("/batch") {
            let events = (try? JSON(parsing: Array(body.readableBytesView)))?["events"]?.arrayValue?.count ?? 0
            received.add(events, ordering: .relaxed)
        } else {
            received.add(1, ordering: .relaxed)
        }
        requests.add(1, ordering: .relaxed)
        return .ok
    }
    let (portStream, portContinuation) = AsyncStream.makeStream(of: Int.self)
    let sink = Application(
        router: sinkRouter, configuration: .init(address: .hostname("127.0.0.1", port: 0), serverName: nil),
        onServerRunning: { portContinuation.yield($0.localAddress?.port ?? 0) }, logger: logger)
    let sinkTask = Task { try await sink.runService() }
    var portIterator = portStream.makeAsyncIterator()
    let port = await portIterator.next()!

    // Scratch database
    let admin = try DatabaseConfiguration(environment: ProcessInfo.processInfo.environment)
    let databaseName = "keel_router_bench_\(UInt32.random(in: 0...UInt32.max))"
    _ = try await Database.withDatabase(configuration: admin, logger: logger) { server in
        try await server.client.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \(databaseName)"), logger: logger)
    }
    let database = Database(configuration: admin.withDatabase(databaseName), logger: logger)
    let databaseTask = Task { await database.client.run() }

    // Kafka backlog
    let cluster = try MockKafkaCluster(brokers: 1, logger: logger)
    let destinationType = mode == "webhook" ? "webhook" : "amplitude"
    let topic = "keel.deliver.\(destinationType)"
    try cluster.createTopic(topic, partitions: 6)
    var producerConfiguration = KafkaProducer.Configuration(bootstrapServers: cluster.bootstrapServers)
    producerConfiguration.linger = .milliseconds(20)
    let producer = try KafkaProducer(configuration: producerConfiguration, logger: logger)
    let producerTask = Task { try await producer.run() }
    let receivedAt = Timestamp.now().rfc3339
    var batch: [OutgoingMessage] = []
    let produceStart = ContinuousClock.now
    for i in 0..<jobCount {
        let destination = "dest\(i % destinationCount)"
        let user = "user\(i % userCount)"
        let request: JSON
        if mode == "webhook" {
            let body: JSON = ["type": "track", "event": "Clicked", "messageId": .string("m\(i)"), "userId": .string(user), "properties": ["plan": "pro", "value": 42]]
            request = ["method": "POST", "url": .string("http://127.0.0.1:\(port)/\(destination)"), "headers": ["Authorization": "Basic YWJjOg=="], "body": body, "bodyFormat": "json"]
        } else {
            // As the Amplitude mapping writes it (HTTP V2 API, one event per job).
            let event: JSON = ["user_id": .string(user), "event_type": "Clicked", "event_properties": ["plan": "pro", "value": 42], "time": 1_795_953_600_000, "insert_id": .string("m\(i)")]
            let body: JSON = ["api_key": "bench-key", "events": [event]]
            request = ["method": "POST", "url": .string("http://127.0.0.1:\(port)/\(destination)/2/httpapi"), "headers": ["Content-Type": "application/json"], "body": body, "bodyFormat": "json"]
        }
        let value: JSON = [
            "workspaceId": "bench", "sourceId": "web", "destinationId": .string(destination), "destinationType": .string(destinationType),
            "messageId": .string("m\(i)"), "userKey": .string(user), "eventType": "track", "eventName": "Clicked", "receivedAt": .string(receivedAt),
            "attempt": 0, "requests": [request],
        ]
        batch.append(OutgoingMessage(topic: topic, key: Array("\(destination):\(user)".utf8), value: value.serialized()))
        if batch.count == 5_000 {
            try await producer.send(batch)
            batch.removeAll(keepingCapacity: true)
        }
    }
    try await producer.send(batch)
    let produceSeconds = (ContinuousClock.now - produceStart).components
    print("produced \(jobCount) jobs (\(destinationCount) destinations, \(userCount) users) in \(Double(produceSeconds.seconds) + Double(produceSeconds.attoseconds) / 1e18) s")

    // Router
    var consumerConfiguration = KafkaConsumer.Configuration(bootstrapServers: cluster.bootstrapServers, groupID: "router", topics: ["^keel\\.deliver\\..*"])
    consumerConfiguration.maxBatchSize = 1_000
    consumerConfiguration.sessionTimeout = .seconds(6)
    consumerConfiguration.heartbeatInterval = .seconds(1)
    consumerConfiguration.additionalProperties["topic.metadata.refresh.interval.ms"] = "1000"
    let consumer = try KafkaConsumer(configuration: consumerConfiguration, logger: logger)
    // The router's settings as `main` reads them (defaults unless KEEL_ROUTER_* are set).
    let settings = try RouterSettings(environment: ProcessInfo.processInfo.environment)
    let (httpClient, httpClientsByType) = HTTPDeliverer.makeClients(settings)
    let router = Router(
        configuration: settings.routerConfiguration, consumer: consumer, store: RouterStore(database: database, logger: logger),
        httpClient: httpClient, httpClientsByType: httpClientsByType,
        policies: { _, type in
            if mode == "webhook" { return DeliveryPolicy.defaults(forType: type) }
            var policy = DeliveryPolicy()
            policy.batching = mode == "batch"
            if let batchWindow { policy.batchWindow = batchWindow }
            return policy
        }, logger: logger)
    let start = ContinuousClock.now
    let routerTask = Task {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await consumer.run() }
            group.addTask { try await router.run() }
            try await group.next()
            group.cancelAll()
        }
    }
    var firstAt: ContinuousClock.Instant?
    var lastPrint = ContinuousClock.now
    while received.load(ordering: .relaxed) < jobCount {
        try await Task.sleep(for: .milliseconds(20))
        if firstAt == nil && received.load(ordering: .relaxed) > 0 { firstAt = .now }
        if ContinuousClock.now - lastPrint > .seconds(2) {
            lastPrint = .now
            print("  … \(received.load(ordering: .relaxed)) delivered")
        }
    }
    let end = ContinuousClock.now
    let total = seconds(end - start)
    let steady = seconds(end - (firstAt ?? start))
    print("delivered \(jobCount) in \(String(format: "%.2f", total)) s from router start: \(Int(Double(jobCount) / total)) deliveries/s")
    print("from first delivery (excludes group join, ~\(String(format: "%.2f", total - steady)) s): \(Int(Double(jobCount) / steady)) deliveries/s")
    print("mode \(mode): \(requests.load(ordering: .relaxed)) requests, \(String(format: "%.1f", Double(jobCount) / Double(max(1, requests.load(ordering: .relaxed))))) jobs per request")

    routerTask.cancel()
    _ = try? await routerTask.value
    try await httpClient.shutdown()
    for client in httpClientsByType.values { try await client.shutdown() }
    producerTask.cancel()
    _ = try? await producerTask.value
    databaseTask.cancel()
    await databaseTask.value
    _ = try await Database.withDatabase(configuration: admin, logger: logger) { server in
        try await server.client.query(PostgresQuery(unsafeSQL: "DROP DATABASE IF EXISTS \(databaseName) WITH (FORCE)"), logger: logger)
    }
    sinkTask.cancel()

}

try await runBenchmark()

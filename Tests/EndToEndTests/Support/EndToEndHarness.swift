import AsyncHTTPClient
import Destinations
import EventModel
import Foundation
import GatewayService
import KafkaTransport
import Logging
import NIOCore
import PostgresNIO
import ProcessorService
import RouterService
import ServiceLifecycle
import Storage
import StorageTesting
import Synchronization
import WorkspaceConfig
import XCTest

/// The whole real-time path in one process, wired as the three `main.swift`s wire it: the
/// gateway (HTTP on 127.0.0.1, an ephemeral port), the processor and the router, against the
/// running development Kafka broker (`KEEL_TEST_KAFKA_BROKERS`, under a topic prefix and consumer
/// groups of this harness only) and a fresh Postgres database (`KEEL_TEST_DATABASE_URL`), with
/// the workspace applied as `keel apply` applies it. Every destination's base URL points at one
/// local ``ToolServer``.
final class EndToEndHarness: Sendable {
    static let logger: Logger = {
        var logger = Logger(label: "keel.e2e.test")
        logger.logLevel = ProcessInfo.processInfo.environment["KEEL_TEST_E2E_LOG"].flatMap(Logger.Level.init(rawValue:)) ?? .critical
        return logger
    }()

    let testDatabase: TestDatabase
    let tools: ToolServer
    /// The state behind Salesforce's and Intercom's answers (records, tokens, contacts).
    let plans: PlanTools
    let topics: Topics
    let gatewayPort: Int
    private let group: ServiceGroup
    private let task: Task<Void, Error>

    private init(
        testDatabase: TestDatabase, tools: ToolServer, plans: PlanTools, topics: Topics, gatewayPort: Int, group: ServiceGroup,
        task: Task<Void, Error>
    ) {
        self.testDatabase = testDatabase
        self.tools = tools
        self.plans = plans
        self.topics = topics
        self.gatewayPort = gatewayPort
        self.group = group
        self.task = task
    }

    /// The dev broker's bootstrap list; a skip (or, with `KEEL_REQUIRE_SERVICES=1`, a failure)
    /// without it.
    static func brokers(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> String {
        guard let brokers = environment["KEEL_TEST_KAFKA_BROKERS"], !brokers.isEmpty else {
            if environment["KEEL_REQUIRE_SERVICES"] == "1" {
                throw HarnessError("KEEL_TEST_KAFKA_BROKERS is not set and KEEL_REQUIRE_SERVICES=1")
            }
            throw XCTSkip("KEEL_TEST_KAFKA_BROKERS is not set: start the dev broker (deploy/local/test does)")
        }
        return brokers
    }

    static func start(workspaceYAML: (_ toolsURL: String) -> String) async throws -> EndToEndHarness {
        let brokers = try brokers()
        let logger = Self.logger
        let testDatabase = try await TestDatabase.make(logger: logger)
        let plans = PlanTools()
        let tools = try await ToolServer.start { request in ToolAPIs.answer(request, plans: plans) }
        do {
            // Applied as `keel apply` does: parsed with the registry's config checks, stored in keel_config.
            let document = try WorkspaceParser(destinationValidators: DestinationRegistry.standard.configValidators)
                .parse(yaml: workspaceYAML(tools.baseURL))
            let repository = ConfigRepository(database: testDatabase.database)
            try await repository.migrate(logger: logger)
            _ = try await repository.apply(document, logger: logger)

            let run = UInt32.random(in: 0...UInt32.max)
            let topics = Topics(prefix: "e2e\(run).")
            let admin = try KafkaAdmin(configuration: .init(bootstrapServers: brokers), logger: logger)
            try await admin.createTopics(DestinationRegistry.standard.topics(topics).map { .init(name: $0, partitions: 2) })

            let secrets = SecretResolver(environment: [:])
            func configStore() -> ConfigStore {
                ConfigStore(
                    database: testDatabase.database, configuration: .init(workspace: "acme", recheckInterval: .seconds(5)),
                    secrets: secrets, logger: logger)
            }

            // Gateway, as GatewayApp/main.swift.
            let gatewayStore = configStore()
            var gatewayConfiguration = GatewayConfiguration()
            gatewayConfiguration.host = "127.0.0.1"
            gatewayConfiguration.port = 0
            gatewayConfiguration.topicPrefix = topics.prefix
            var producerConfiguration = KafkaProducer.Configuration(bootstrapServers: brokers)
            producerConfiguration.clientID = "keel-gateway"
            producerConfiguration.messageTimeout = gatewayConfiguration.ackTimeout
            producerConfiguration.requestTimeout = gatewayConfiguration.ackTimeout
            producerConfiguration.linger = gatewayConfiguration.kafkaLinger
            producerConfiguration.shutdownFlushTimeout = .seconds(2)
            let gatewayProducer = try KafkaProducer(configuration: producerConfiguration, logger: logger)
            let (portStream, portContinuation) = AsyncStream.makeStream(of: Int.self)
            let gateway = buildGateway(
                configuration: gatewayConfiguration, producer: gatewayProducer, sources: ConfigStoreSources(store: gatewayStore),
                logger: logger, onServerRunning: { port in portContinuation.yield(port) })

            // Processor, as ProcessorApp/main.swift, with the SpiderMonkey user-transformation stage.
            let processorStore = configStore()
            var processorConfiguration = ProcessorConfiguration(topics: topics, kafkaBrokers: brokers)
            processorConfiguration.consumerGroup = "e2e-processor-\(run)"
            processorConfiguration.maxBatchSize = 200
            let processor = try buildProcessor(
                configuration: processorConfiguration, database: testDatabase.database, configStore: processorStore, secrets: secrets,
                transformer: try makeJavaScriptTransformer(configStore: processorStore), tuneConsumer: Self.tuneConsumer, tuneProducer: { $0.shutdownFlushTimeout = .seconds(2) }, logger: logger)

            // Router, as RouterApp/main.swift.
            let routerStore = configStore()
            var consumerConfiguration = KafkaConsumer.Configuration(
                bootstrapServers: brokers, groupID: "e2e-router-\(run)", topics: [topics.deliverPattern])
            consumerConfiguration.clientID = "keel-router"
            Self.tuneConsumer(&consumerConfiguration)
            let routerConsumer = try KafkaConsumer(configuration: consumerConfiguration, logger: logger)
            var settings = RouterSettings()
            settings.adminToken = nil
            let (httpClient, clientsByType) = HTTPDeliverer.makeClients(settings)
            let routerServices = buildRouter(
                settings: settings, database: testDatabase.database, consumer: routerConsumer, httpClient: httpClient,
                httpClientsByType: clientsByType, policies: DeliveryPolicy.provider(from: routerStore), logger: logger)

            let services: [any Service] =
                [gatewayStore, gatewayProducer, gateway] + processor.services + [routerStore, routerConsumer] + routerServices
            let group = ServiceGroup(services: services, logger: logger)
            let task = Task { try await group.run() }
            var ports = portStream.makeAsyncIterator()
            guard let gatewayPort = await ports.next() else { throw HarnessError("the gateway did not start") }
            for store in [gatewayStore, processorStore, routerStore] { _ = try await store.waitForFirstLoad() }
            return EndToEndHarness(
                testDatabase: testDatabase, tools: tools, plans: plans, topics: topics, gatewayPort: gatewayPort, group: group, task: task)
        } catch {
            await tools.stop()
            try? await testDatabase.drop()
            throw error
        }
    }

    static func tuneConsumer(_ configuration: inout KafkaConsumer.Configuration) {
        configuration.sessionTimeout = .seconds(6)
        configuration.heartbeatInterval = .milliseconds(500)
        configuration.autoCommitInterval = .milliseconds(200)
        configuration.shutdownDrainTimeout = .seconds(1)
        configuration.metadataRefreshInterval = .seconds(1)
        configuration.additionalProperties["fetch.wait.max.ms"] = "20"
    }

    func shutdown() async {
        await group.triggerGracefulShutdown()
        _ = try? await task.value
        await tools.stop()
        try? await testDatabase.drop()
    }

    // MARK: Sending, as an SDK does

    /// POSTs `body` to the gateway's `path` (`/v1/track`, `/v1/batch`, …) with the write key as
    /// the Basic username; returns the status and the answer's text.
    @discardableResult
    func send(_ path: String, writeKey: String, _ body: JSON) async throws -> (status: Int, text: String) {
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(gatewayPort)\(path)")
        request.method = .POST
        request.headers.add(name: "Authorization", value: Credentials.basic(writeKey, ""))
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "User-Agent", value: "analytics-python/2.1.0")
        request.body = .bytes(ByteBuffer(bytes: body.serialized()))
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(20))
        let text = String(buffer: try await response.body.collect(upTo: 1 << 16))
        return (Int(response.status.code), text)
    }

    /// Sends `events` in one `/v1/batch` call (as RudderStack's and Segment's server SDKs do) and
    /// fails the test unless the gateway answers 200.
    func sendBatch(writeKey: String, _ events: [JSON], file: StaticString = #filePath, line: UInt = #line) async throws {
        let answer = try await send("/v1/batch", writeKey: writeKey, ["batch": .array(events), "sentAt": "2026-11-29T12:00:09.000Z"])
        XCTAssertEqual(answer.status, 200, "gateway answered \(answer.text)", file: file, line: line)
    }

    /// Waits until the requests `destination` received satisfy `done` (checked every 50 ms), or
    /// fails after `timeout`; returns them either way.
    func waitForRequests(
        _ destination: String, timeout: Duration = .seconds(45), file: StaticString = #filePath, line: UInt = #line,
        until done: ([ReceivedRequest]) -> Bool
    ) async throws -> [ReceivedRequest] {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if done(tools.received(destination)) {
                // Let stragglers (a repeat would be a bug) arrive before the caller checks counts.
                try await Task.sleep(for: .milliseconds(300))
                return tools.received(destination)
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        let received = tools.received(destination)
        XCTFail("timed out waiting for \(destination)'s requests; received: \(received)", file: file, line: line)
        return received
    }

    /// Applies a new version of the workspace, as `keel apply` does; the running services pick it
    /// up without a restart.
    func apply(workspaceYAML: String) async throws {
        let document = try WorkspaceParser(destinationValidators: DestinationRegistry.standard.configValidators)
            .parse(yaml: workspaceYAML)
        _ = try await ConfigRepository(database: testDatabase.database).apply(document, logger: Self.logger)
    }

    /// Processing errors the processor recorded for a destination (stage and reason).
    func processingErrors(destination: String) async throws -> [(stage: String, reason: String)] {
        let rows = try await testDatabase.database.client.query(
            "SELECT stage, reason FROM processor.errors WHERE destination_id = \(destination) ORDER BY id", logger: Self.logger)
        var result: [(stage: String, reason: String)] = []
        for try await (stage, reason) in rows.decode((String, String).self) { result.append((stage, reason)) }
        return result
    }
}

struct HarnessError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// One harness for a whole test class: started by the first test that asks, stopped in the
/// class's `tearDown`.
final class SharedHarness: Sendable {
    private let state = Mutex<Task<EndToEndHarness, Error>?>(nil)
    private let workspaceYAML: @Sendable (String) -> String

    init(workspaceYAML: @escaping @Sendable (String) -> String) {
        self.workspaceYAML = workspaceYAML
    }

    func get() async throws -> EndToEndHarness {
        let task = state.withLock { task in
            if let task { return task }
            let yaml = workspaceYAML
            let started = Task { try await EndToEndHarness.start(workspaceYAML: yaml) }
            task = started
            return started
        }
        return try await task.value
    }

    /// Stops the harness if one was started; blocks the calling (non-cooperative) thread.
    func stopBlocking() {
        guard let task = state.withLock({ $0 }) else { return }
        let done = DispatchSemaphore(value: 0)
        Task {
            if let harness = try? await task.value { await harness.shutdown() }
            done.signal()
        }
        done.wait()
    }
}

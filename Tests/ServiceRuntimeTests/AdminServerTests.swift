import Hummingbird
import HummingbirdTesting
import Logging
import Metrics
import ServiceLifecycle
import ServiceRuntime
import XCTest

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

final class AdminServerTests: XCTestCase {
    private func makeServer(
        checks: [ReadinessCheck] = [],
        timeout: Duration = .seconds(2),
        cacheDuration: Duration = .zero,
        registry: MetricsRegistry = MetricsRegistry(),
        port: Int = 0,
        onListening: (@Sendable (Int) async -> Void)? = nil
    ) -> AdminServer {
        AdminServer(
            configuration: .init(host: "127.0.0.1", port: port),
            readiness: Readiness(checks: checks, timeout: timeout, cacheDuration: cacheDuration, logger: quietLogger),
            registry: registry,
            logger: quietLogger,
            onListening: onListening
        )
    }

    func testLiveAnswers200() async throws {
        let failing = ReadinessCheck("postgres") { false }
        try await makeServer(checks: [failing]).makeApplication().test(.router) { client in
            try await client.execute(uri: "/health/live", method: .get) { response in
                XCTAssertEqual(response.status, .ok, "live does not depend on readiness")
                XCTAssertEqual(String(buffer: response.body), "live\n")
            }
        }
    }

    func testReadyIs200WhenEveryCheckPasses() async throws {
        let checks = [ReadinessCheck("postgres") { true }, ReadinessCheck("kafka") { true }]
        try await makeServer(checks: checks).makeApplication().test(.router) { client in
            try await client.execute(uri: "/health/ready", method: .get) { response in
                XCTAssertEqual(response.status, .ok)
                XCTAssertEqual(String(buffer: response.body), "ready\n")
            }
        }
    }

    func testReadyIs503AndListsOnlyTheFailingChecks() async throws {
        let checks = [
            ReadinessCheck("postgres") { true },
            ReadinessCheck("kafka") { false },
            ReadinessCheck("config") { false },
        ]
        try await makeServer(checks: checks).makeApplication().test(.router) { client in
            try await client.execute(uri: "/health/ready", method: .get) { response in
                XCTAssertEqual(response.status, .serviceUnavailable)
                XCTAssertEqual(response.headers[.contentType], "text/plain; charset=utf-8")
                XCTAssertEqual(String(buffer: response.body), "not ready\nkafka\nconfig\n")
            }
        }
    }

    func testReadinessFollowsTheCheck() async throws {
        let kafkaUp = Flag(false)
        let server = makeServer(checks: [ReadinessCheck("kafka") { kafkaUp.get() }])
        try await server.makeApplication().test(.router) { client in
            try await client.execute(uri: "/health/ready", method: .get) { XCTAssertEqual($0.status, .serviceUnavailable) }
            kafkaUp.set(true)
            try await client.execute(uri: "/health/ready", method: .get) { XCTAssertEqual($0.status, .ok) }
            kafkaUp.set(false)
            try await client.execute(uri: "/health/ready", method: .get) { response in
                XCTAssertEqual(response.status, .serviceUnavailable)
                XCTAssertEqual(String(buffer: response.body), "not ready\nkafka\n")
            }
        }
    }

    func testACheckThatHangsIsReportedAsTimedOutWithinTheTimeout() async throws {
        let hanging = ReadinessCheck("postgres") {
            try? await Task.sleep(for: .seconds(30))
            return true
        }
        let server = makeServer(checks: [hanging, ReadinessCheck("kafka") { true }], timeout: .milliseconds(200))
        let started = ContinuousClock.now
        try await server.makeApplication().test(.router) { client in
            try await client.execute(uri: "/health/ready", method: .get) { response in
                XCTAssertEqual(response.status, .serviceUnavailable)
                XCTAssertEqual(String(buffer: response.body), "not ready\npostgres (timed out)\n")
            }
        }
        XCTAssertLessThan(ContinuousClock.now - started, .seconds(5))
    }

    func testReportIsCachedAndConcurrentProbesShareOneEvaluation() async throws {
        let calls = CallCounter()
        let readiness = Readiness(
            checks: [
                ReadinessCheck("postgres") {
                    calls.increment()
                    try? await Task.sleep(for: .milliseconds(50))
                    return true
                }
            ],
            cacheDuration: .milliseconds(500),
            logger: quietLogger
        )
        async let first = readiness.evaluate()
        async let second = readiness.evaluate()
        let reports = await [first, second]
        XCTAssertEqual(reports, [ReadinessReport(failing: []), ReadinessReport(failing: [])])
        _ = await readiness.evaluate()
        XCTAssertEqual(calls.count, 1, "within the cache duration the check runs once")
        try await Task.sleep(for: .milliseconds(600))
        _ = await readiness.evaluate()
        XCTAssertEqual(calls.count, 2, "after the cache duration the check runs again")
    }

    func testChecksRegisteredLaterTakePart() async throws {
        let readiness = Readiness(cacheDuration: .seconds(60), logger: quietLogger)
        let before = await readiness.evaluate()
        XCTAssertTrue(before.isReady)
        await readiness.register("config") { false }
        let after = await readiness.evaluate()
        XCTAssertEqual(after.failing, ["config"], "registering a check invalidates the cached report")
    }

    func testMetricsExposeACounterAfterIncrementing() async throws {
        let registry = MetricsRegistry()
        let factory = MetricsBootstrap.makeFactory(registry: registry)
        let counter = Counter(label: "keel_test_events_total", dimensions: [("source", "web")], factory: factory)
        counter.increment(by: 3)
        counter.increment()

        try await makeServer(registry: registry).makeApplication().test(.router) { client in
            try await client.execute(uri: "/metrics", method: .get) { response in
                XCTAssertEqual(response.status, .ok)
                XCTAssertEqual(response.headers[.contentType], AdminRoutes.metricsContentType)
                let text = String(buffer: response.body)
                XCTAssertTrue(text.contains("# TYPE keel_test_events_total counter"), text)
                XCTAssertTrue(text.contains(#"keel_test_events_total{source="web"} 4"#), text)
            }
        }
    }

    /// Each scrape reads the process's CPU, memory and descriptors, and jemalloc's own figures.
    func testMetricsShowTheProcessAndItsAllocatorAsOfTheScrape() async throws {
        let registry = MetricsRegistry()
        try await makeServer(registry: registry).makeApplication().test(.router) { client in
            func scrape() async throws -> [String: Double] {
                try await client.execute(uri: "/metrics", method: .get) { response in
                    var values: [String: Double] = [:]
                    for line in String(buffer: response.body).split(separator: "\n") where !line.hasPrefix("#") {
                        let parts = line.split(separator: " ")
                        if parts.count == 2, let value = Double(parts[1]) { values[String(parts[0])] = value }
                    }
                    return values
                }
            }
            let before = try await scrape()

            // 64 MB allocated and touched, 3 descriptors opened, ~0.2 s of CPU spent.
            let block = UnsafeMutableRawPointer.allocate(byteCount: 64 << 20, alignment: 16)
            defer { block.deallocate() }
            block.initializeMemory(as: UInt8.self, repeating: 1, count: 64 << 20)
            let descriptors = (0..<3).map { _ in open("/dev/null", O_RDONLY) }
            defer { for descriptor in descriptors { close(descriptor) } }
            let clock = ContinuousClock()
            let start = clock.now
            var spin: UInt64 = 0
            while clock.now - start < .milliseconds(200) { spin &+= 1 }
            XCTAssertGreaterThan(spin, 0)

            let after = try await scrape()
            let grew = { (name: String) -> Double in (after[name] ?? .nan) - (before[name] ?? .nan) }
            XCTAssertGreaterThanOrEqual(grew("process_cpu_seconds_total"), 0.1)
            XCTAssertGreaterThanOrEqual(grew("process_resident_memory_bytes"), Double(48 << 20))
            XCTAssertGreaterThanOrEqual(grew("process_open_fds"), 3)
            XCTAssertGreaterThan(after["process_max_fds"] ?? 0, after["process_open_fds"] ?? .infinity)
            XCTAssertGreaterThanOrEqual(after["process_virtual_memory_bytes"] ?? 0, after["process_resident_memory_bytes"] ?? .infinity)
            // The test bundle links jemalloc, as every Keel executable does.
            XCTAssertGreaterThanOrEqual(grew("keel_allocator_allocated_bytes"), Double(60 << 20))
            XCTAssertGreaterThanOrEqual(after["keel_allocator_resident_bytes"] ?? 0, after["keel_allocator_allocated_bytes"] ?? .infinity)
        }
    }

    func testUnknownPathIs404() async throws {
        try await makeServer().makeApplication().test(.router) { client in
            try await client.execute(uri: "/admin", method: .get) { XCTAssertEqual($0.status, .notFound) }
        }
    }

    /// The behaviour `main` relies on: a real socket, and SIGTERM ending `ServiceGroup.run()`
    /// without an error (so the process exits 0).
    func testServesOnARealPortAndStopsCleanlyOnSIGTERM() async throws {
        let (ports, portContinuation) = AsyncStream.makeStream(of: Int.self)
        let server = makeServer(checks: [ReadinessCheck("postgres") { true }]) { port in
            portContinuation.yield(port)
        }
        let group = ServiceGroup(configuration: .keel(services: [server], logger: quietLogger))
        let running = Task { try await group.run() }

        var iterator = ports.makeAsyncIterator()
        let next = await iterator.next()
        let port = try XCTUnwrap(next)
        XCTAssertGreaterThan(port, 0)
        try await TestClient.withClient(host: "127.0.0.1", port: port) { client in
            let response = try await client.get("/health/ready")
            XCTAssertEqual(response.status, .ok)
            XCTAssertEqual(response.body.map { String(buffer: $0) }, "ready\n")
        }

        kill(getpid(), SIGTERM)
        try await running.value
    }
}

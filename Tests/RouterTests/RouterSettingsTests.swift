import XCTest

@testable import RouterService

/// Reading the router's environment: defaults, per-type connection pools, rejected values.
final class RouterSettingsTests: XCTestCase {
    func testDefaultsKeepAHealthyBacklogInMemoryAndAllowManyConnectionsPerHost() throws {
        let settings = try RouterSettings(environment: [:])
        XCTAssertEqual(settings.maxJobsInMemory, 40_000)
        XCTAssertEqual(settings.maxQueuedPerDestination, 10_000)
        XCTAssertLessThan(settings.maxQueuedPerDestination, settings.maxJobsInMemory, "one blocked destination cannot stall the consumer")
        XCTAssertEqual(settings.connectionsPerHost, 128, "well above AsyncHTTPClient's default of 8")
        XCTAssertEqual(settings.connectionsPerHostByType, [:])
    }

    func testConnectionsPerHostByType() throws {
        let settings = try RouterSettings(environment: [
            "KEEL_ROUTER_CONNECTIONS_PER_HOST": "64", "KEEL_ROUTER_CONNECTIONS_PER_HOST_BY_TYPE": "Amplitude=32, webhook = 256",
        ])
        XCTAssertEqual(settings.connectionsPerHost, 64)
        XCTAssertEqual(settings.connectionsPerHostByType, ["amplitude": 32, "webhook": 256])
        XCTAssertThrowsError(try RouterSettings(environment: ["KEEL_ROUTER_CONNECTIONS_PER_HOST_BY_TYPE": "webhook=0"]))
        XCTAssertThrowsError(try RouterSettings(environment: ["KEEL_ROUTER_CONNECTIONS_PER_HOST_BY_TYPE": "webhook"]))
        XCTAssertFalse("\(settings)".contains("token: set"))
    }
}

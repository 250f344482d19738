import GatewayService
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import MetricsTestKit
import XCTest

/// Requests and events by source and status, bytes in and latency, through swift-metrics' test kit.
final class GatewayMetricsTests: XCTestCase {
    func testRequestsEventsBytesAndLatencyAreCounted() async throws {
        let metrics = TestMetrics()
        let harness = try GatewayHarness()
        try await harness.run(metrics: metrics) { client in
            let body = #"{"batch":[{"type":"track","userId":"a"},{"type":"page","userId":"b"},{"type":"identify","userId":"c"}]}"#
            let ok = try await client.execute(
                uri: "/v1/batch", method: .post, headers: Req.headers(writeKey: "wk-web"), body: Req.body(body))
            XCTAssertEqual(ok.status, .ok)
            let bad = try await client.execute(
                uri: "/v1/track", method: .post, headers: Req.headers(writeKey: "wk-web"), body: Req.body("{"))
            XCTAssertEqual(bad.status, .badRequest)
            let unknown = try await client.execute(
                uri: "/v1/track", method: .post, headers: Req.headers(writeKey: "secret-key"), body: Req.body("{}"))
            XCTAssertEqual(unknown.status, .unauthorized)
        }
        let accepted = try metrics.expectCounter(
            "keel_gateway_requests_total", [("endpoint", "batch"), ("source", "web"), ("status", "200")])
        XCTAssertEqual(accepted.totalValue, 1)
        let events = try metrics.expectCounter("keel_gateway_events_total", [("source", "web"), ("status", "200")])
        XCTAssertEqual(events.totalValue, 3)
        let rejected = try metrics.expectCounter(
            "keel_gateway_requests_total", [("endpoint", "track"), ("source", "web"), ("status", "400")])
        XCTAssertEqual(rejected.totalValue, 1)
        let unauthorized = try metrics.expectCounter(
            "keel_gateway_requests_total", [("endpoint", "track"), ("source", "unknown"), ("status", "401")])
        XCTAssertEqual(unauthorized.totalValue, 1, "unknown keys are labelled `unknown`, never with the key")
        let bytes = try metrics.expectCounter("keel_gateway_request_bytes_total", [("source", "web")])
        XCTAssertEqual(bytes.totalValue, Int64(103 + 1))
        let latency = try metrics.expectTimer("keel_gateway_request_duration_seconds", [("endpoint", "batch")])
        XCTAssertEqual(latency.values.count, 1)
        XCTAssertGreaterThan(latency.values.first ?? 0, 0)
    }
}

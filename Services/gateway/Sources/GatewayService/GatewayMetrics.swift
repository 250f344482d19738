import Metrics

/// The gateway's metrics (docs/gateway.md, "Metrics"). Labels carry source ids, never write keys.
struct GatewayMetrics: Sendable {
    /// `source` label for requests whose write key was missing or unknown.
    static let unknownSource = "unknown"

    /// Where the metrics go: the bootstrapped system's factory, or a test factory.
    let factory: any MetricsFactory

    /// Records one finished request.
    func request(endpoint: String, source: String, status: Int, events: Int, bytes: Int, duration: Duration) {
        let statusText = String(status)
        Counter(
            label: "keel_gateway_requests_total",
            dimensions: [("endpoint", endpoint), ("source", source), ("status", statusText)],
            factory: factory
        ).increment()
        if events > 0 {
            Counter(
                label: "keel_gateway_events_total", dimensions: [("source", source), ("status", statusText)],
                factory: factory)
                .increment(by: events)
        }
        if bytes > 0 {
            Counter(label: "keel_gateway_request_bytes_total", dimensions: [("source", source)], factory: factory)
                .increment(by: bytes)
        }
        Metrics.Timer(
            label: "keel_gateway_request_duration_seconds",
            dimensions: [("endpoint", endpoint)],
            preferredDisplayUnit: .seconds,
            factory: factory
        ).recordNanoseconds(duration.nanoseconds)
    }
}

extension Duration {
    var nanoseconds: Int64 {
        components.seconds * 1_000_000_000 + components.attoseconds / 1_000_000_000
    }
}

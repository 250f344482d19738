import Metrics

/// The batch-router's metrics (docs/batch-router.md), per destination.
struct BatchRouterMetrics: Sendable {
    let factory: any MetricsFactory

    init(factory: any MetricsFactory = MetricsSystem.factory) {
        self.factory = factory
    }

    func buffered(_ destination: String, _ rows: Int) {
        Gauge(label: "keel_batch_rows_buffered", dimensions: [("destination", destination)], factory: factory)
            .record(rows)
    }

    func uploaded(_ destination: String, files: Int, bytes: Int) {
        Counter(label: "keel_batch_files_uploaded_total", dimensions: [("destination", destination)], factory: factory)
            .increment(by: files)
        Counter(label: "keel_batch_bytes_uploaded_total", dimensions: [("destination", destination)], factory: factory)
            .increment(by: bytes)
    }

    func loaded(_ destination: String, rows: Int, discards: Int) {
        Counter(label: "keel_batch_rows_loaded_total", dimensions: [("destination", destination)], factory: factory)
            .increment(by: rows)
        Counter(label: "keel_batch_discards_total", dimensions: [("destination", destination)], factory: factory)
            .increment(by: discards)
    }

    func flushDuration(_ destination: String, status: String, _ duration: Duration) {
        let nanoseconds = duration.components.seconds * 1_000_000_000 + duration.components.attoseconds / 1_000_000_000
        Timer(label: "keel_batch_flush_duration_seconds", dimensions: [("destination", destination), ("status", status)], factory: factory)
            .recordNanoseconds(nanoseconds)
    }

    func failed(_ destination: String) {
        Counter(label: "keel_batch_flush_failures_total", dimensions: [("destination", destination)], factory: factory)
            .increment()
    }

    func dropped(reason: String, count: Int = 1) {
        Counter(label: "keel_batch_rows_dropped_total", dimensions: [("reason", reason)], factory: factory)
            .increment(by: count)
    }
}

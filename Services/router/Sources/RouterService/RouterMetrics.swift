import CoreMetrics
import Synchronization

/// The router's metrics. Handles are created once per label set and cached, so recording on the
/// hot path is a dictionary lookup.
///
/// | name | type | labels |
/// |---|---|---|
/// | `keel_router_deliveries_total` | counter | `destination_id`, `destination_type`, `outcome` (delivered, retried, failed, aborted) |
/// | `keel_router_attempts_total` | counter | `destination_id`, `status` (HTTP status, `timeout`, `connection`, `invalid`) |
/// | `keel_router_delivery_latency_seconds` | histogram | `destination_type`: receivedAt → delivered |
/// | `keel_router_parked_total` / `keel_router_unparked_total` | counter | — jobs written to / loaded from the parked table |
/// | `keel_router_parked_jobs` | gauge | — parked rows this process knows about |
/// | `keel_router_failed_events_total` | counter | `destination_id`: rows written to failed events |
/// | `keel_router_in_flight` / `keel_router_queued` | gauge | `destination_id`: in flight, in memory |
/// | `keel_router_jobs_in_memory` | gauge | — |
/// | `keel_router_invalid_jobs_total` | counter | — messages that are not delivery jobs |
/// | `keel_router_rebalances_total` | counter | `event` (assigned, revoked): consumer rebalances handled |
/// | `keel_router_handover_held_keys` | gauge | — keys whose parked rows wait for their partition to be read up to them |
/// | `keel_router_reread_copies_dropped_total` | counter | — jobs read again whose parked row was sent instead |
public final class RouterMetrics: Sendable {
    private struct Cache {
        var counters: [String: Counter] = [:]
        var timers: [String: Timer] = [:]
        var gauges: [String: Gauge] = [:]
        var destinations: [String: DestinationMetrics] = [:]
    }

    /// One destination's per-delivery handles, looked up once per delivery (one lock, one hash of
    /// the destination id) instead of building label strings for each metric.
    final class DestinationMetrics: Sendable {
        let delivered: Counter
        let latency: Timer
        private let attempts: Mutex<[String: Counter]>
        private let attempts2xx: Mutex<[Int: Counter]>
        private let destinationId: String

        fileprivate init(_ metrics: RouterMetrics, destinationId: String, destinationType: String) {
            self.destinationId = destinationId
            delivered = metrics.counter(
                "keel_router_deliveries_total", [("destination_id", destinationId), ("destination_type", destinationType), ("outcome", "delivered")])
            latency = metrics.timer("keel_router_delivery_latency_seconds", [("destination_type", destinationType)])
            attempts = Mutex([:])
            attempts2xx = Mutex([:])
        }

        /// A delivered job: its attempt (by status), the delivery, and the latency from `receivedAt`.
        func delivered(status: Int, receivedAtMillis: Int64?, nowMillis: Int64) {
            let counter = attempts2xx.withLock { cache in
                if let counter = cache[status] { return counter }
                let counter = Counter(label: "keel_router_attempts_total", dimensions: [("destination_id", destinationId), ("status", "\(status)")])
                cache[status] = counter
                return counter
            }
            counter.increment()
            delivered.increment()
            if let receivedAtMillis { latency.recordMilliseconds(max(0, nowMillis - receivedAtMillis)) }
        }

        /// A failed attempt by status (HTTP code, `timeout`, `connection`, `invalidJob`).
        func attempt(status: String) {
            let counter = attempts.withLock { cache in
                if let counter = cache[status] { return counter }
                let counter = Counter(label: "keel_router_attempts_total", dimensions: [("destination_id", destinationId), ("status", status)])
                cache[status] = counter
                return counter
            }
            counter.increment()
        }
    }

    /// The handles of the job's destination.
    func destination(_ job: DeliveryJob) -> DestinationMetrics {
        if let cached = cache.withLock({ $0.destinations[job.destinationId] }) { return cached }
        let created = DestinationMetrics(self, destinationId: job.destinationId, destinationType: job.destinationType)
        return cache.withLock { cache in
            if let cached = cache.destinations[job.destinationId] { return cached }
            cache.destinations[job.destinationId] = created
            return created
        }
    }

    private let cache = Mutex(Cache())

    public init() {}

    func counter(_ label: String, _ dimensions: [(String, String)]) -> Counter {
        let cacheKey = label + dimensions.map { "|\($0.0)=\($0.1)" }.joined()
        return cache.withLock { cache in
            if let counter = cache.counters[cacheKey] { return counter }
            let counter = Counter(label: label, dimensions: dimensions)
            cache.counters[cacheKey] = counter
            return counter
        }
    }

    func timer(_ label: String, _ dimensions: [(String, String)]) -> Timer {
        let cacheKey = label + dimensions.map { "|\($0.0)=\($0.1)" }.joined()
        return cache.withLock { cache in
            if let timer = cache.timers[cacheKey] { return timer }
            let timer = Timer(label: label, dimensions: dimensions, preferredDisplayUnit: .seconds)
            cache.timers[cacheKey] = timer
            return timer
        }
    }

    func gauge(_ label: String, _ dimensions: [(String, String)] = []) -> Gauge {
        let cacheKey = label + dimensions.map { "|\($0.0)=\($0.1)" }.joined()
        return cache.withLock { cache in
            if let gauge = cache.gauges[cacheKey] { return gauge }
            let gauge = Gauge(label: label, dimensions: dimensions)
            cache.gauges[cacheKey] = gauge
            return gauge
        }
    }

    func delivery(_ job: DeliveryJob, outcome: String) {
        counter("keel_router_deliveries_total", [("destination_id", job.destinationId), ("destination_type", job.destinationType), ("outcome", outcome)])
            .increment()
    }

    func attempt(_ job: DeliveryJob, status: String) {
        counter("keel_router_attempts_total", [("destination_id", job.destinationId), ("status", status)]).increment()
    }

    func latency(_ job: DeliveryJob, nowMillis: Int64) {
        guard let received = job.receivedAtMillis else { return }
        timer("keel_router_delivery_latency_seconds", [("destination_type", job.destinationType)])
            .recordMilliseconds(max(0, nowMillis - received))
    }
}

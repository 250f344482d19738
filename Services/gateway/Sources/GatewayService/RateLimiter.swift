import Synchronization

/// Events-per-second limits per source and per workspace, as token buckets.
///
/// A bucket holds up to one second of events. A request is admitted while its buckets hold at
/// least one event's token, and then takes all its events at once (a batch larger than the rate still passes,
/// and later requests wait until the debt is repaid), so the long-run rate never exceeds the
/// limit. A request refused takes nothing.
final class RateLimiter: Sendable {
    /// The outcome for one request.
    enum Decision: Equatable {
        case admitted
        /// Over a limit; retry after this many whole seconds (at least 1).
        case limited(retryAfterSeconds: Int)
    }

    private struct Bucket {
        var tokens: Double
        var rate: Double
        var updatedAt: Duration
    }

    private let buckets = Mutex<[String: Bucket]>([:])
    private let clock: @Sendable () -> Duration

    /// - Parameter clock: monotonic time since an arbitrary origin; injectable for tests.
    init(clock: @escaping @Sendable () -> Duration = { ContinuousClock.now - RateLimiter.origin }) {
        self.clock = clock
    }

    private static let origin = ContinuousClock.now

    /// Admits `events` for `source` when neither its limit nor its workspace's is in debt.
    func admit(events: Int, source: GatewaySource) -> Decision {
        var limits: [(key: String, rate: Double)] = []
        if let rate = source.eventsPerSecond, rate > 0 { limits.append(("s:" + source.id, rate)) }
        if let rate = source.workspaceEventsPerSecond, rate > 0 { limits.append(("w:" + source.workspaceId, rate)) }
        guard !limits.isEmpty else { return .admitted }
        let now = clock()
        return buckets.withLock { buckets in
            var longestWait = 0.0
            for (key, rate) in limits {
                var bucket = buckets[key] ?? Bucket(tokens: rate, rate: rate, updatedAt: now)
                if bucket.rate != rate {  // the limit was reconfigured
                    bucket.tokens = min(bucket.tokens, rate)
                    bucket.rate = rate
                }
                let elapsed = Double((now - bucket.updatedAt).components.seconds)
                    + Double((now - bucket.updatedAt).components.attoseconds) / 1e18
                bucket.tokens = min(rate, bucket.tokens + elapsed * rate)
                bucket.updatedAt = now
                buckets[key] = bucket
                if bucket.tokens < 1 {
                    longestWait = max(longestWait, (1 - bucket.tokens) / rate)
                }
            }
            if longestWait > 0 {
                return .limited(retryAfterSeconds: max(1, Int(longestWait.rounded(.up))))
            }
            for (key, _) in limits {
                buckets[key]!.tokens -= Double(events)
            }
            return .admitted
        }
    }
}

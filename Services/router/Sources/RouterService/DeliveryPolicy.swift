import EventModel

/// How the router delivers to one destination: retry budget, backoff, concurrency, rate and
/// timeout. Per-type defaults come from ``DeliveryPolicy/defaults(forType:)``; a destination's
/// config may override any field in a `delivery` object (see docs/router.md).
public struct DeliveryPolicy: Sendable, Hashable {
    /// Attempts before a retryable failure becomes final. Default 100 (time is the usual limit).
    public var maxAttempts: Int
    /// Time from the first attempt after which a retryable failure becomes final. Default 3 h.
    public var maxRetryDuration: Duration
    /// First backoff delay. Default 10 s.
    public var minBackoff: Duration
    /// Largest backoff delay. Default 5 min.
    public var maxBackoff: Duration
    /// Requests of this destination in flight at once. Default 64.
    public var maxConcurrency: Int
    /// Requests per second, `nil` for unlimited. Default unlimited.
    public var requestsPerSecond: Double?
    /// Timeout of one HTTP request. Default 30 s.
    public var timeout: Duration
    /// Whether jobs of a destination whose API has a batch endpoint are combined into batch
    /// requests (docs/router.md, "Batching"). Default true; no effect for other types.
    public var batching: Bool
    /// How long a batch waits for more jobs after its first one, unless it fills up first.
    /// Zero: a batch holds the jobs ready at once and leaves at once. Default 50 ms.
    public var batchWindow: Duration
    /// Jobs per batch request at most, under the tool's own limit; `nil` for the tool's limit.
    public var batchMaxEvents: Int?

    public init(
        maxAttempts: Int = 100,
        maxRetryDuration: Duration = .seconds(3 * 3600),
        minBackoff: Duration = .seconds(10),
        maxBackoff: Duration = .seconds(300),
        maxConcurrency: Int = 64,
        requestsPerSecond: Double? = nil,
        timeout: Duration = .seconds(30),
        batching: Bool = true,
        batchWindow: Duration = .milliseconds(50),
        batchMaxEvents: Int? = nil
    ) {
        self.maxAttempts = maxAttempts
        self.maxRetryDuration = maxRetryDuration
        self.minBackoff = minBackoff
        self.maxBackoff = maxBackoff
        self.maxConcurrency = maxConcurrency
        self.requestsPerSecond = requestsPerSecond
        self.timeout = timeout
        self.batching = batching
        self.batchWindow = batchWindow
        self.batchMaxEvents = batchMaxEvents
    }

    /// Defaults per destination type, from the tools' documented limits where they have them.
    public static func defaults(forType type: String) -> DeliveryPolicy {
        switch type.lowercased() {
        case "amplitude": DeliveryPolicy(maxConcurrency: 32, requestsPerSecond: 1000)
        case "mixpanel": DeliveryPolicy(maxConcurrency: 16, requestsPerSecond: 500)
        case "hubspot": DeliveryPolicy(maxConcurrency: 8, requestsPerSecond: 100)
        case "braze": DeliveryPolicy(maxConcurrency: 32)
        case "webhook": DeliveryPolicy(maxConcurrency: 64, timeout: .seconds(10))
        default: DeliveryPolicy()
        }
    }

    /// This policy with the overrides of a destination config's `delivery` object applied.
    /// Durations are numbers of seconds (fractions allowed); invalid values are ignored.
    ///
    /// ```yaml
    /// delivery: {maxAttempts: 20, maxRetrySeconds: 3600, minBackoffSeconds: 5, maxBackoffSeconds: 120,
    ///            maxConcurrency: 8, requestsPerSecond: 50, timeoutSeconds: 10,
    ///            batch: true, batchWindowMillis: 50, batchMaxEvents: 500}
    /// ```
    public func applying(config: JSON?) -> DeliveryPolicy {
        guard let delivery = config?["delivery"], case .object = delivery else { return self }
        var policy = self
        func seconds(_ key: String) -> Duration? {
            guard let value = delivery[key]?.doubleValue, value >= 0, value.isFinite else { return nil }
            return .milliseconds(Int64((value * 1000).rounded()))
        }
        if let value = delivery["maxAttempts"]?.intValue, value >= 1 { policy.maxAttempts = Int(value) }
        if let value = seconds("maxRetrySeconds") { policy.maxRetryDuration = value }
        if let value = seconds("minBackoffSeconds") { policy.minBackoff = value }
        if let value = seconds("maxBackoffSeconds") { policy.maxBackoff = value }
        if let value = delivery["maxConcurrency"]?.intValue, value >= 1 { policy.maxConcurrency = Int(value) }
        if let value = delivery["requestsPerSecond"]?.doubleValue, value > 0 { policy.requestsPerSecond = value }
        if let value = seconds("timeoutSeconds"), value > .zero { policy.timeout = value }
        if case .bool(let value)? = delivery["batch"] { policy.batching = value }
        if let value = delivery["batchWindowMillis"]?.doubleValue, value >= 0, value <= 60_000 {
            policy.batchWindow = .microseconds(Int64((value * 1000).rounded()))
        }
        if let value = delivery["batchMaxEvents"]?.intValue, value >= 1 { policy.batchMaxEvents = Int(value) }
        return policy
    }

    /// The delay before attempt `attempt + 1` after `attempt` failures: `minBackoff · 2^(attempt-1)`
    /// capped at `maxBackoff`, scaled by `0.5 + jitter/2` (`jitter` in 0…1) so that keys failing
    /// together spread out. A server's `Retry-After` wins when it is longer.
    func backoff(afterAttempt attempt: Int, jitter: Double, retryAfter: Duration?) -> Duration {
        let exponent = min(max(attempt - 1, 0), 30)
        var delay = minBackoff * (1 << exponent)
        if delay > maxBackoff || delay < .zero { delay = maxBackoff }
        let factor = 0.5 + min(max(jitter, 0), 1) / 2
        delay = delay * factor
        if let retryAfter, retryAfter > delay { delay = retryAfter }
        return delay
    }
}

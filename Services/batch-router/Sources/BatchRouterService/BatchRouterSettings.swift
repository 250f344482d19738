/// The batch-router's own settings (docs/batch-router.md). Destination-specific settings
/// (`uploadInterval`, bucket, warehouse) come from the workspace; these bound every destination.
public struct BatchRouterSettings: Sendable {
    /// A destination's buffer is flushed early when it holds this many rows. Default 100,000.
    public var maxRowsPerFlush: Int = 100_000
    /// … or this many bytes of events (as read from Kafka). Default 64 MiB.
    public var maxBytesPerFlush: Int = 64 << 20
    /// While a destination's flush is running or waiting to retry, its buffer may grow to this
    /// multiple of the caps; beyond that the router stops reading `keel.batch` until the
    /// destination catches up. Default 2.
    public var overflowFactor: Int = 2
    /// How often due flushes are looked for. Default 1 s.
    public var tick: Duration = .seconds(1)
    /// First retry delay of a failed flush; doubles per attempt (with jitter) up to ``maxRetryDelay``.
    public var retryDelay: Duration = .seconds(5)
    public var maxRetryDelay: Duration = .seconds(600)
    /// gzip level of object storage files (zlib 0…9). Default 6 (zlib's default).
    public var gzipLevel: Int32 = 6
    /// Consumer group. Default `batch-router` (docs/architecture.md).
    public var consumerGroup: String = "batch-router"
    /// Rows per Kafka batch handed to the router. Default 1,000.
    public var kafkaBatchSize: Int = 1000
    /// Extra librdkafka consumer properties (tests shorten `session.timeout.ms`).
    public var kafkaProperties: [String: String] = [:]

    public init() {}
}

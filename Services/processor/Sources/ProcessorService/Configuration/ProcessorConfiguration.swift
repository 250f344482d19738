import EventModel

/// The processor's settings beyond the shared ``ServiceRuntime/RuntimeConfiguration``. Read from
/// the environment in `ProcessorConfiguration+Environment.swift`; documented in docs/processor.md.
public struct ProcessorConfiguration: Sendable, Equatable {
    /// Topic names (from `KEEL_TOPIC_PREFIX`).
    public var topics: Topics
    /// Bootstrap servers (`KAFKA_BROKERS`).
    public var kafkaBrokers: String
    /// Consumer group. Default `processor`.
    public var consumerGroup = "processor"
    /// The most messages per consumed batch: one dedup query, one produce-await and one offset
    /// store per batch. A batch takes what has arrived, so under light load batches stay small;
    /// under load 10,000 costs ~20 % less CPU per event than 2,000 (docs/benchmarks.md).
    /// Default 10,000 (`KEEL_PROCESSOR_BATCH_SIZE`).
    public var maxBatchSize = 10_000
    /// Batches in flight at once: while the oldest are produced and committed, the next is
    /// parsed, looked up and mapped. 1 processes batches strictly one after another. Default 4
    /// (`KEEL_PROCESSOR_PIPELINE_DEPTH`).
    public var pipelineDepth = 4
    /// Tasks that parse and map one batch, each on whole partitions. Default 2
    /// (`KEEL_PROCESSOR_MAPPING_CONCURRENCY`), the cores of the machines Keel targets.
    public var mappingConcurrency = 2
    /// Whether to deduplicate on messageId. Default true (`KEEL_PROCESSOR_DEDUP`).
    public var dedupEnabled = true
    /// How long a messageId is remembered. Default 24 h (`KEEL_PROCESSOR_DEDUP_WINDOW`).
    public var dedupWindow: Duration = .seconds(24 * 3600)
    /// How often old dedup marks and errors are deleted. Default 10 min.
    public var pruneInterval: Duration = .seconds(600)
    /// Processing errors kept this long. Default 14 days (`KEEL_PROCESSOR_ERROR_RETENTION`).
    public var errorRetention: Duration = .seconds(14 * 24 * 3600)
    /// At most this many error rows per batch; the rest are counted and logged only. Default 1,000.
    public var maxErrorRowsPerBatch = 1000
    /// Error payloads above this size are not stored. Default 64 KiB.
    public var maxErrorPayloadBytes = 65_536
    /// A batch whose output cannot be produced or recorded is retried this many times (with
    /// exponential backoff from 200 ms) before the processor stops and lets a restart replay it.
    public var batchAttempts = 5

    public init(topics: Topics = Topics(), kafkaBrokers: String) {
        self.topics = topics
        self.kafkaBrokers = kafkaBrokers
    }
}

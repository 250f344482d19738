import CoreMetrics
import Destinations

/// The processor's metrics. Counters are made once (labels are fixed sets) and incremented once
/// per batch with the batch's totals.
///
/// - `keel_processor_events_received_total`
/// - `keel_processor_duplicates_total`
/// - `keel_processor_filtered_total{reason}`: integrations, message_type, event_filter, consent,
///   transformation, mapping
/// - `keel_processor_jobs_total{destination_type}`: delivery jobs produced
/// - `keel_processor_batch_rows_total`
/// - `keel_processor_errors_total{stage}`
/// - `keel_processor_dedup_mark_rewrites_total`: batches whose marks met one already in
///   `processor.dedup` and were written again as an upsert (rare: marks past the window not pruned
///   yet, or a replica's around a rebalance)
/// - `keel_processor_batch_duration_seconds`
public struct ProcessorMetrics: Sendable {
    let received: Counter
    let duplicates: Counter
    let filtered: [PipelineCounts.FilterReason: Counter]
    let jobs: [String: Counter]
    let batchRows: Counter
    let errors: [ProcessingError.Stage: Counter]
    let markRewrites: Counter
    let batchDuration: Timer
    let factory: any MetricsFactory

    public init(registry: DestinationRegistry = .standard, factory: any MetricsFactory = MetricsSystem.factory) {
        self.factory = factory
        received = Counter(label: "keel_processor_events_received_total", factory: factory)
        duplicates = Counter(label: "keel_processor_duplicates_total", factory: factory)
        var filtered: [PipelineCounts.FilterReason: Counter] = [:]
        for reason in PipelineCounts.FilterReason.allCases {
            filtered[reason] = Counter(label: "keel_processor_filtered_total", dimensions: [("reason", reason.rawValue)], factory: factory)
        }
        self.filtered = filtered
        var jobs: [String: Counter] = [:]
        for definition in registry.definitions where definition.kind == .stream {
            jobs[definition.type] = Counter(
                label: "keel_processor_jobs_total", dimensions: [("destination_type", definition.type)], factory: factory)
        }
        self.jobs = jobs
        batchRows = Counter(label: "keel_processor_batch_rows_total", factory: factory)
        var errors: [ProcessingError.Stage: Counter] = [:]
        for stage in ProcessingError.Stage.allCases {
            errors[stage] = Counter(label: "keel_processor_errors_total", dimensions: [("stage", stage.rawValue)], factory: factory)
        }
        self.errors = errors
        markRewrites = Counter(label: "keel_processor_dedup_mark_rewrites_total", factory: factory)
        batchDuration = Timer(label: "keel_processor_batch_duration_seconds", preferredDisplayUnit: .seconds, factory: factory)
    }

    func record(_ counts: PipelineCounts, duration: Duration) {
        if counts.received > 0 { received.increment(by: counts.received) }
        if counts.duplicates > 0 { duplicates.increment(by: counts.duplicates) }
        for (reason, count) in counts.filtered where count > 0 { filtered[reason]?.increment(by: count) }
        for (type, count) in counts.jobs where count > 0 {
            (jobs[type] ?? Counter(label: "keel_processor_jobs_total", dimensions: [("destination_type", type)], factory: factory))
                .increment(by: count)
        }
        if counts.batchRows > 0 { batchRows.increment(by: counts.batchRows) }
        for (stage, count) in counts.errors where count > 0 { errors[stage]?.increment(by: count) }
        let (seconds, attoseconds) = duration.components
        batchDuration.recordNanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }
}

/// What one batch did, for metrics and logs. Aggregated per batch so metrics cost a handful of
/// increments per batch, not per event.
public struct PipelineCounts: Sendable, Equatable {
    /// Why an event was not sent to a destination, without being an error.
    public enum FilterReason: String, Sendable, CaseIterable {
        case integrations, messageType = "message_type", eventFilter = "event_filter", consent
        /// The user transformation returned nothing.
        case transformation
        /// The destination mapping dropped it (e.g. identify for GA4).
        case mapping
    }

    public var received = 0
    public var duplicates = 0
    public var filtered: [FilterReason: Int] = [:]
    /// Delivery jobs per destination type.
    public var jobs: [String: Int] = [:]
    public var batchRows = 0
    public var errors: [ProcessingError.Stage: Int] = [:]

    public init() {}

    public var totalFiltered: Int { filtered.values.reduce(0, +) }
    public var totalJobs: Int { jobs.values.reduce(0, +) }
    public var totalErrors: Int { errors.values.reduce(0, +) }

    /// Adds `other`'s counts to these.
    public mutating func add(_ other: PipelineCounts) {
        received += other.received
        duplicates += other.duplicates
        filtered.merge(other.filtered, uniquingKeysWith: +)
        jobs.merge(other.jobs, uniquingKeysWith: +)
        batchRows += other.batchRows
        errors.merge(other.errors, uniquingKeysWith: +)
    }
}

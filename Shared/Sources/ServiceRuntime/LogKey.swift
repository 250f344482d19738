/// The metadata keys Keel logs use, so that the same thing has the same name in every service and
/// a log query for `destination="d1"` finds it everywhere.
///
/// ```swift
/// logger.info("delivered", metadata: [LogKey.destination: "\(destinationId)"])
/// ```
public enum LogKey {
    /// Workspace id.
    public static let workspace = "workspace"
    /// Source id (not swift-log's `source`, which Keel's handlers do not print).
    public static let source = "source"
    /// Destination id.
    public static let destination = "destination"
    /// Destination type, e.g. `webhook`.
    public static let destinationType = "destinationType"
    /// The event's messageId.
    public static let messageId = "messageId"
    /// Event type (`track`, `identify`, …).
    public static let eventType = "eventType"
    /// Kafka topic.
    public static let topic = "topic"
    /// Kafka partition.
    public static let partition = "partition"
    /// Kafka offset.
    public static let offset = "offset"
    /// Kafka consumer group.
    public static let consumerGroup = "consumerGroup"
    /// Postgres schema.
    public static let schema = "schema"
    /// Migration version.
    public static let migration = "migration"
    /// HTTP status of a response Keel sent or received.
    public static let status = "status"
    /// Attempt number of a retried operation.
    public static let attempt = "attempt"
    /// A readiness check's name.
    public static let check = "check"
    /// Description of an error (never a payload or a secret).
    public static let error = "error"
    /// Duration in milliseconds.
    public static let durationMs = "durationMs"
}

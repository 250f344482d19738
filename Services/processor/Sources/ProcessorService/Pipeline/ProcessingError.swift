import EventModel

/// An event that failed a stage, as stored in `processor.errors`.
public struct ProcessingError: Sendable, Equatable {
    /// Where it failed. The raw value is stored.
    public enum Stage: String, Sendable, CaseIterable {
        /// The Kafka value is not an IngestRecord.
        case parse
        /// The event has no valid `type`.
        case validation
        /// The record's workspace is not the one this processor serves.
        case routing
        /// The destination's type is unknown or its config invalid (or a `${VAR}` unset).
        case destinationConfig = "destination_config"
        /// The user transformation failed (or is not available).
        case userTransformation = "user_transformation"
        /// The destination mapping aborted (e.g. identify without a userId).
        case destinationTransformation = "destination_transformation"
    }

    public var stage: Stage
    public var reason: String
    public var workspaceId: String
    public var sourceId: String
    public var destinationId: String?
    public var messageId: String?
    /// The event (or, for a parse error, the start of the raw value as a string).
    public var payload: JSON?

    public init(
        stage: Stage, reason: String, workspaceId: String = "", sourceId: String = "", destinationId: String? = nil,
        messageId: String? = nil, payload: JSON?
    ) {
        self.stage = stage
        self.reason = reason
        self.workspaceId = workspaceId
        self.sourceId = sourceId
        self.destinationId = destinationId
        self.messageId = messageId
        self.payload = payload
    }
}

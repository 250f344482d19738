import EventModel

/// Stage 3d seam: runs a destination's user transformation (JavaScript, RudderStack's contract)
/// over a batch of events. Implemented with SpiderMonkey by the Transformations module.
public protocol UserTransformer: Sendable {
    /// Transforms `events` (all for one destination and transformation). Returns one result per
    /// input, in order.
    func transform(
        _ events: [UserTransformationInput], transformationId: String
    ) async -> [UserTransformationResult]
}

/// One event handed to a user transformation, with what `metadata(event)` returns.
public struct UserTransformationInput: Sendable {
    public var event: JSON
    public var workspaceId: String
    public var sourceId: String
    public var destinationId: String
    public var destinationType: String
    public var messageId: String

    public init(
        event: JSON, workspaceId: String, sourceId: String, destinationId: String, destinationType: String,
        messageId: String
    ) {
        self.event = event
        self.workspaceId = workspaceId
        self.sourceId = sourceId
        self.destinationId = destinationId
        self.destinationType = destinationType
        self.messageId = messageId
    }
}

/// What a transformation made of one event.
public enum UserTransformationResult: Sendable, Equatable {
    /// Zero (dropped), one, or several (fan-out) events.
    case events([JSON])
    /// The transformation threw, timed out or returned something that is not an event: recorded
    /// as a processing error with this reason.
    case failure(String)
}

/// Until the JavaScript engine lands: every event of a destination with a transformation attached
/// is recorded as a processing error "transformations not available" (with its payload, so it can
/// be replayed), never delivered untransformed.
public struct UnavailableUserTransformer: UserTransformer {
    public static let reason = "transformations not available"

    public init() {}

    public func transform(
        _ events: [UserTransformationInput], transformationId: String
    ) async -> [UserTransformationResult] {
        Array(repeating: .failure(Self.reason), count: events.count)
    }
}

/// Kafka message keys: `<workspaceId>:<userKey>` on the ingest topic and
/// `<destinationId>:<userKey>` on deliver and batch topics, so one user's events stay in order on
/// one partition.
public enum MessageKey {
    /// The event's `anonymousId` when it is a non-empty string, else its `userId` (a string, or a
    /// number written as JSON would, e.g. `42`), else the empty string.
    public static func userKey(event: JSON) -> String {
        if case .string(let anonymousId)? = event["anonymousId"], !anonymousId.isEmpty { return anonymousId }
        switch event["userId"] {
        case .string(let userId)?: return userId
        case .int(let userId)?: return String(userId)
        case .double(let userId)?:
            if let integral = Int64(exactly: userId) { return String(integral) }
            return userId.isFinite ? userId.description : ""
        default: return ""
        }
    }

    /// `<workspaceId>:<userKey>`, the key on the ingest topic.
    public static func ingest(workspaceId: String, userKey: String) -> String {
        workspaceId + ":" + userKey
    }

    /// `<workspaceId>:<userKey of event>`.
    public static func ingest(workspaceId: String, event: JSON) -> String {
        ingest(workspaceId: workspaceId, userKey: userKey(event: event))
    }

    /// `<destinationId>:<userKey>`, the key on deliver and batch topics.
    public static func deliver(destinationId: String, userKey: String) -> String {
        destinationId + ":" + userKey
    }

    /// `<destinationId>:<userKey of event>`.
    public static func deliver(destinationId: String, event: JSON) -> String {
        deliver(destinationId: destinationId, userKey: userKey(event: event))
    }
}

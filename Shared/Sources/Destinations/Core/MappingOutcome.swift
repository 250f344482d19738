import EventModel

/// What a destination transformation makes of one event.
public enum MappingOutcome: Sendable, Equatable {
    /// Requests for a real-time destination, in the order the router must send them.
    case requests([DestinationRequest])
    /// A delivery whose later requests depend on earlier answers (token, lookup, then write), run
    /// by the router as one delivery (Salesforce; Intercom identify and group).
    case plan(DeliveryPlan)
    /// The row for a batch destination (object storage or warehouse): the event to store.
    case batchRow(JSON)
    /// Not sent, by design (e.g. GA4 does not take identify calls). Counted, not an error.
    case drop(reason: String)
    /// The event cannot be mapped (missing userId, bad config, unsupported type): recorded as a
    /// processing error with this reason. The reason never quotes secrets.
    case abort(reason: String)
}

/// The kinds of event in the RudderStack/Segment spec.
public enum MessageType: String, Sendable, CaseIterable, Hashable {
    case identify, track, page, screen, group, alias

    /// Parses the `type` field, case-insensitively.
    public init?(field: String) {
        if let exact = MessageType(rawValue: field) {
            self = exact
        } else if let lowered = MessageType(rawValue: field.lowercased()) {
            self = lowered
        } else {
            return nil
        }
    }
}

/// Why a mapping cannot be built from a destination's configuration, with the config key.
public struct DestinationConfigError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The configuration key at fault, e.g. `apiKey` or `headers[1].to`.
    public var key: String
    /// What is wrong; never the value itself (it may be a secret).
    public var reason: String

    public init(key: String, reason: String) {
        self.key = key
        self.reason = reason
    }

    public var description: String { "\(key): \(reason)" }
}

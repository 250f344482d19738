import Destinations
import EventModel

/// A `DeliveryJob` from a `keel.deliver.<type>` topic (format in docs/architecture.md): the
/// routing fields the router needs, the requests to send (or the multi-step ``plan`` to run), and
/// the original bytes, which are what gets parked, recorded as failed and replayed, so a replay
/// sends exactly what was mapped.
public struct DeliveryJob: Sendable {
    public var workspaceId: String
    public var sourceId: String
    public var destinationId: String
    public var destinationType: String
    public var messageId: String
    public var userKey: String
    public var eventType: String
    public var eventName: String?
    /// When the gateway received the event (Unix milliseconds), for the end-to-end latency histogram.
    public var receivedAtMillis: Int64?
    public var requests: [DestinationRequest]
    /// A multi-step delivery (Destinations' ``DeliveryPlan``), run instead of ``requests``.
    public var plan: DeliveryPlan?
    /// The job as it arrived.
    public var raw: [UInt8]

    public var key: DeliveryKey { DeliveryKey(destinationId: destinationId, userKey: userKey) }

    public init(
        workspaceId: String = "", sourceId: String = "", destinationId: String, destinationType: String,
        messageId: String, userKey: String, eventType: String = "track", eventName: String? = nil,
        receivedAtMillis: Int64? = nil, requests: [DestinationRequest], plan: DeliveryPlan? = nil, raw: [UInt8] = []
    ) {
        self.workspaceId = workspaceId
        self.sourceId = sourceId
        self.destinationId = destinationId
        self.destinationType = destinationType
        self.messageId = messageId
        self.userKey = userKey
        self.eventType = eventType
        self.eventName = eventName
        self.receivedAtMillis = receivedAtMillis
        self.requests = requests
        self.plan = plan
        self.raw = raw
    }
}

/// The ordering unit: one user at one destination.
public struct DeliveryKey: Hashable, Sendable, CustomStringConvertible {
    public var destinationId: String
    public var userKey: String

    public init(destinationId: String, userKey: String) {
        self.destinationId = destinationId
        self.userKey = userKey
    }

    public var description: String { "\(destinationId):\(userKey)" }
}

import EventModel

/// The value on `keel.batch`: one event for one batch destination (object storage or
/// warehouse), after any user transformation. See docs/architecture.md, "BatchRow".
public struct BatchRow: Sendable, Equatable {
    public var workspaceId: String
    public var sourceId: String
    public var destinationId: String
    public var destinationType: String
    public var messageId: String
    public var receivedAt: String
    public var eventType: String
    /// The full event (with the corrected `timestamp`).
    public var event: JSON

    public init(
        workspaceId: String, sourceId: String, destinationId: String, destinationType: String, messageId: String,
        receivedAt: String, eventType: String, event: JSON
    ) {
        self.workspaceId = workspaceId
        self.sourceId = sourceId
        self.destinationId = destinationId
        self.destinationType = destinationType
        self.messageId = messageId
        self.receivedAt = receivedAt
        self.eventType = eventType
        self.event = event
    }

    public var json: JSON {
        var object = JSONObject()
        object["workspaceId"] = .string(workspaceId)
        object["sourceId"] = .string(sourceId)
        object["destinationId"] = .string(destinationId)
        object["destinationType"] = .string(destinationType)
        object["messageId"] = .string(messageId)
        object["receivedAt"] = .string(receivedAt)
        object["eventType"] = .string(eventType)
        object["event"] = event
        return .object(object)
    }

    /// The message value: the bytes of ``json``, written directly (no intermediate tree).
    public func serialized() -> [UInt8] {
        var writer = EnvelopeWriter(capacity: 256)
        writer.member("{\"workspaceId\":", workspaceId)
        writer.member(",\"sourceId\":", sourceId)
        writer.member(",\"destinationId\":", destinationId)
        writer.member(",\"destinationType\":", destinationType)
        writer.member(",\"messageId\":", messageId)
        writer.member(",\"receivedAt\":", receivedAt)
        writer.member(",\"eventType\":", eventType)
        writer.raw(",\"event\":")
        writer.value(event)
        writer.raw("}")
        return writer.finish()
    }

    public init(json: JSON) throws(EnvelopeError) {
        let fields = try EnvelopeFields(json, name: "batch row")
        workspaceId = try fields.string("workspaceId")
        sourceId = try fields.string("sourceId")
        destinationId = try fields.string("destinationId")
        destinationType = try fields.string("destinationType")
        messageId = try fields.string("messageId")
        receivedAt = fields.optionalString("receivedAt") ?? ""
        eventType = try fields.string("eventType")
        guard let event = json["event"], event.objectValue != nil else {
            throw EnvelopeError(code: .missingField, reason: "batch row has no event object")
        }
        self.event = event
    }

    public init(parsing bytes: [UInt8]) throws(EnvelopeError) {
        try self.init(json: EnvelopeFields.parse(bytes, name: "batch row"))
    }
}

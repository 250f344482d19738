import EventModel

/// The value on `keel.deliver.<destinationType>`: what the router must send for one event and
/// one destination. See docs/architecture.md, "DeliveryJob".
public struct DeliveryJob: Sendable, Equatable {
    public var workspaceId: String
    public var sourceId: String
    public var destinationId: String
    public var destinationType: String
    public var messageId: String
    public var userKey: String
    public var eventType: String
    /// The track event name, or the page/screen name; empty when the event has none.
    public var eventName: String
    /// The gateway's `receivedAt` (RFC 3339).
    public var receivedAt: String
    /// Delivery attempts so far: 0 from the processor; the router counts on.
    public var attempt: Int
    /// The requests to make, in order (empty when the job has a ``plan``).
    public var requests: [DestinationRequest]
    /// A multi-step delivery run instead of ``requests`` (`"plan"` in the JSON; absent when `nil`).
    public var plan: DeliveryPlan?

    public init(
        workspaceId: String, sourceId: String, destinationId: String, destinationType: String, messageId: String,
        userKey: String, eventType: String, eventName: String, receivedAt: String, attempt: Int = 0,
        requests: [DestinationRequest], plan: DeliveryPlan? = nil
    ) {
        self.workspaceId = workspaceId
        self.sourceId = sourceId
        self.destinationId = destinationId
        self.destinationType = destinationType
        self.messageId = messageId
        self.userKey = userKey
        self.eventType = eventType
        self.eventName = eventName
        self.receivedAt = receivedAt
        self.attempt = attempt
        self.requests = requests
        self.plan = plan
    }

    /// The Kafka key: `<destinationId>:<userKey>`.
    public var key: String { MessageKey.deliver(destinationId: destinationId, userKey: userKey) }

    public var json: JSON {
        var object = JSONObject()
        object["workspaceId"] = .string(workspaceId)
        object["sourceId"] = .string(sourceId)
        object["destinationId"] = .string(destinationId)
        object["destinationType"] = .string(destinationType)
        object["messageId"] = .string(messageId)
        object["userKey"] = .string(userKey)
        object["eventType"] = .string(eventType)
        object["eventName"] = .string(eventName)
        object["receivedAt"] = .string(receivedAt)
        object["attempt"] = .int(Int64(attempt))
        object["requests"] = .array(requests.map(\.json))
        if let plan { object["plan"] = plan.json }
        return .object(object)
    }

    /// The message value: the bytes of ``json``, written directly (no intermediate tree).
    public func serialized() -> [UInt8] { serialized(reusing: nil) }

    /// ``serialized()``, copying `eventText` for a request body that is the very event it was
    /// kept for (the webhook's whole-event body) instead of serialising that tree: the same bytes.
    public func serialized(reusing eventText: JSONText?) -> [UInt8] {
        guard plan == nil, requests.allSatisfy(\.isDirectlyWritable) else { return json.serialized() }
        var writer = EnvelopeWriter(capacity: 1024 + messageId.utf8.count + eventName.utf8.count, reusing: eventText)
        writer.member("{\"workspaceId\":", workspaceId)
        writer.member(",\"sourceId\":", sourceId)
        writer.member(",\"destinationId\":", destinationId)
        writer.member(",\"destinationType\":", destinationType)
        writer.member(",\"messageId\":", messageId)
        writer.member(",\"userKey\":", userKey)
        writer.member(",\"eventType\":", eventType)
        writer.member(",\"eventName\":", eventName)
        writer.member(",\"receivedAt\":", receivedAt)
        writer.raw(",\"attempt\":")
        writer.integer(attempt)
        writer.raw(",\"requests\":[")
        for (index, request) in requests.enumerated() {
            if index > 0 { writer.raw(",") }
            request.write(to: &writer)
        }
        writer.raw("]}")
        return writer.finish()
    }

    public init(json: JSON) throws(EnvelopeError) {
        let fields = try EnvelopeFields(json, name: "delivery job")
        workspaceId = try fields.string("workspaceId")
        sourceId = try fields.string("sourceId")
        destinationId = try fields.string("destinationId")
        destinationType = try fields.string("destinationType")
        messageId = try fields.string("messageId")
        userKey = try fields.string("userKey")
        eventType = try fields.string("eventType")
        eventName = fields.optionalString("eventName") ?? ""
        receivedAt = fields.optionalString("receivedAt") ?? ""
        attempt = Int(json["attempt"]?.intValue ?? 0)
        if let planJSON = json["plan"], !planJSON.isNull {
            plan = try DeliveryPlan(json: planJSON)
        } else {
            plan = nil
        }
        guard let list = json["requests"]?.arrayValue ?? (plan != nil ? [] : nil) else {
            throw EnvelopeError(code: .missingField, reason: "delivery job has no requests")
        }
        var requests: [DestinationRequest] = []
        for item in list {
            guard let request = DestinationRequest(json: item) else {
                throw EnvelopeError(code: .wrongType, reason: "delivery job has a malformed request")
            }
            requests.append(request)
        }
        self.requests = requests
    }

    public init(parsing bytes: [UInt8]) throws(EnvelopeError) {
        try self.init(json: EnvelopeFields.parse(bytes, name: "delivery job"))
    }
}

/// Field reads shared by the envelopes, with errors that name the field only.
struct EnvelopeFields {
    let object: JSONObject
    let name: String

    init(_ json: JSON, name: String) throws(EnvelopeError) {
        guard let object = json.objectValue else { throw EnvelopeError(code: .wrongType, reason: "\(name) is not a JSON object") }
        self.object = object
        self.name = name
    }

    func string(_ field: String) throws(EnvelopeError) -> String {
        guard let value = object[field] else { throw EnvelopeError(code: .missingField, reason: "\(name) has no \(field)") }
        guard let text = value.stringValue else { throw EnvelopeError(code: .wrongType, reason: "\(name) \(field) is not a string") }
        return text
    }

    func optionalString(_ field: String) -> String? { object[field]?.stringValue }

    static func parse(_ bytes: [UInt8], name: String) throws(EnvelopeError) -> JSON {
        do {
            return try JSON(parsing: bytes)
        } catch {
            throw EnvelopeError(code: .invalidJSON, reason: "\(name): \(error)")
        }
    }
}

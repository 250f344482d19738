import EventModel

/// Cheap, typed reads of the spec fields destinations use. Every accessor tolerates absent or
/// mistyped fields (events come from SDKs and servers we do not control).
extension JSON {
    /// `type` as a ``MessageType``.
    public var messageType: MessageType? { self["type"]?.stringValue.flatMap(MessageType.init(field:)) }

    /// `userId` as text (some SDKs send numbers); `nil` when absent or empty.
    public var userIdText: String? { self["userId"]?.identifierText }

    /// `anonymousId` as text; `nil` when absent or empty.
    public var anonymousIdText: String? { self["anonymousId"]?.identifierText }

    /// The Kafka key's user part: anonymousId, else userId, else empty (``MessageKey``).
    public var userKey: String { MessageKey.userKey(event: self) }

    /// `event` (the track event name) when a non-empty string.
    public var eventName: String? {
        guard let name = self["event"]?.stringValue, !name.isEmpty else { return nil }
        return name
    }

    /// `properties` when an object, else empty.
    public var propertiesObject: JSONObject { self["properties"]?.objectValue ?? JSONObject() }

    /// The user's traits: `context.traits`, overridden by top-level `traits` (older SDKs).
    public var mergedTraits: JSONObject {
        var traits = self[path: "context", "traits"]?.objectValue ?? JSONObject()
        if let top = self["traits"]?.objectValue {
            for (key, value) in top { traits[key] = value }
        }
        return traits
    }

    /// A string, or an integer written as text; `nil` for other values and for "".
    var identifierText: String? {
        switch self {
        case .string(let text): text.isEmpty ? nil : text
        case .int(let number): String(number)
        case .double(let number): Int64(exactly: number).map(String.init)
        default: nil
        }
    }

    /// Text for a header or query parameter: strings as they are, everything else as JSON.
    var parameterText: String {
        if case .string(let text) = self { return text }
        return jsonString
    }
}

extension JSON {
    /// The event time in epoch milliseconds: `timestamp` (set by the processor's correction),
    /// else `originalTimestamp`, else `receivedAt`; `nil` when none parses.
    public var timestampMilliseconds: Int64? {
        for key in ["timestamp", "originalTimestamp", "receivedAt"] {
            if let text = self[key]?.stringValue, let milliseconds = EventTime.milliseconds(text) { return milliseconds }
        }
        return nil
    }
}

import EventModel

/// Amplitude through the HTTP V2 API: one `POST /2/httpapi` per event with
/// `{api_key, events: [event], options?}`.
///
/// - Every event: `user_id` ← userId, `device_id` ← anonymousId (one of them is required),
///   `time` in epoch milliseconds, `insert_id` ← messageId (Amplitude deduplicates on it for 7
///   days, so a replay is not counted twice), device and app fields from `context`, `ip`.
/// - track → `event_type` = the event name, `event_properties` = properties; `revenue`, `price`,
///   `quantity`, `productId`, `revenueType` properties become Amplitude's revenue fields.
/// - page / screen → `Viewed <name> Page` / `Viewed <name> Screen` (templates in the config),
///   properties as event properties.
/// - identify → `$identify` with `user_properties: {$set: traits}`.
/// - group → `$identify` with `groups: {<groupType>: groupId}`, and when the group has traits a
///   second request, `POST /groupidentify` (form: `api_key`, `identification`) setting them as group
///   properties.
/// - alias → not supported (Amplitude's user mapping API is not an event API): abort.
///
/// Batching (AmplitudeBatch.swift, applied by the router): jobs of one destination combine by
/// concatenating their `events` arrays under one `api_key` into `POST /batch` (same event format;
/// at most 2000 events and 20 MB per request). A 400 answer lists failing events by index
/// (`events_with_invalid_fields`, `events_with_missing_fields`), which splits the result back per
/// job; the `/groupidentify` requests are not batched.
struct AmplitudeMapping: EventMapper {
    static let definition = DestinationDefinition(
        type: "amplitude", displayName: "Amplitude", integrationAliases: ["AMPLITUDE", "amplitude"],
        kind: .stream, supportedMessageTypes: [.identify, .track, .page, .screen, .group], secretConfigKeys: ["apiKey"],
        makeMapper: { config throws(DestinationConfigError) in AmplitudeMapping(config: try AmplitudeConfig(config)) }
    )

    let config: AmplitudeConfig

    func map(_ event: JSON) -> MappingOutcome {
        let userId = event.userIdText
        let deviceId = event.anonymousIdText
        guard userId != nil || deviceId != nil else {
            return .abort(reason: "Amplitude needs a user_id or a device_id: the event has neither userId nor anonymousId")
        }
        var amplitudeEvent = JSONObject()
        if let userId { amplitudeEvent["user_id"] = .string(userId) }
        if let deviceId { amplitudeEvent["device_id"] = .string(deviceId) }
        var extraRequest: DestinationRequest?
        switch event.messageType {
        case .track:
            guard let name = event.eventName else { return .abort(reason: "track event has no event name") }
            amplitudeEvent["event_type"] = .string(name)
            var properties = event.propertiesObject
            Self.moveRevenueFields(from: &properties, into: &amplitudeEvent)
            amplitudeEvent["event_properties"] = .object(properties)
        case .page, .screen:
            let isPage = event.messageType == .page
            let name = event["name"]?.stringValue ?? event[path: "properties", "name"]?.stringValue
            if let name, !name.isEmpty {
                amplitudeEvent["event_type"] = .string((isPage ? config.pageName : config.screenName).render(event) ?? name)
            } else {
                amplitudeEvent["event_type"] = .string(isPage ? "Loaded a Page" : "Loaded a Screen")
            }
            amplitudeEvent["event_properties"] = .object(event.propertiesObject)
        case .identify:
            amplitudeEvent["event_type"] = "$identify"
            amplitudeEvent["user_properties"] = ["$set": .object(event.mergedTraits)]
        case .group:
            guard let groupId = event["groupId"]?.identifierText else { return .abort(reason: "group event has no groupId") }
            let traits = event["traits"]?.objectValue ?? JSONObject()
            let groupType = config.groupTypeTrait.flatMap { traits[$0]?.identifierText } ?? config.groupType
            amplitudeEvent["event_type"] = "$identify"
            amplitudeEvent["groups"] = .object(JSONObject([(key: groupType, value: .string(groupId))]))
            if !traits.isEmpty {
                let identification: JSON = [
                    [
                        "group_type": .string(groupType), "group_value": .string(groupId),
                        "group_properties": ["$set": .object(traits)],
                    ]
                ]
                extraRequest = DestinationRequest(
                    method: .post, url: config.baseURL + "/groupidentify",
                    body: .form([("api_key", config.apiKey), ("identification", identification.jsonString)]))
            }
        default:
            return .abort(reason: "message type \(event["type"]?.stringValue ?? "") is not supported by Amplitude")
        }
        if let milliseconds = event.timestampMilliseconds { amplitudeEvent["time"] = .int(milliseconds) }
        if let messageId = event["messageId"]?.identifierText { amplitudeEvent["insert_id"] = .string(messageId) }
        Self.addContext(event, into: &amplitudeEvent)

        var body = JSONObject()
        body["api_key"] = .string(config.apiKey)
        body["events"] = [.object(amplitudeEvent)]
        if let minIdLength = config.minIdLength { body["options"] = ["min_id_length": .int(minIdLength)] }
        var requests = [
            DestinationRequest(
                method: .post, url: config.baseURL + "/2/httpapi", headers: [("Content-Type", "application/json")],
                body: .json(.object(body)))
        ]
        if let extraRequest { requests.append(extraRequest) }
        return .requests(requests)
    }

    /// Amplitude's revenue fields, read from the spec's property names.
    static func moveRevenueFields(from properties: inout JSONObject, into event: inout JSONObject) {
        for (property, field) in [
            ("revenue", "revenue"), ("price", "price"), ("quantity", "quantity"), ("productId", "productId"),
            ("product_id", "productId"), ("revenueType", "revenueType"), ("revenue_type", "revenueType"),
        ] {
            guard let value = properties[property], !value.isNull, event[field] == nil else { continue }
            if field == "revenue" || field == "price" {
                guard value.doubleValue != nil else { continue }
            }
            event[field] = value
        }
    }

    /// Device, app and location fields from the spec's `context`.
    static func addContext(_ event: JSON, into out: inout JSONObject) {
        let context = event["context"]
        let fields: [(String, JSON?)] = [
            ("app_version", context?[path: "app", "version"]),
            ("os_name", context?[path: "os", "name"]),
            ("os_version", context?[path: "os", "version"]),
            ("device_manufacturer", context?[path: "device", "manufacturer"]),
            ("device_model", context?[path: "device", "model"]),
            ("carrier", context?[path: "network", "carrier"]),
            ("language", context?["locale"]),
            ("ip", context?["ip"] ?? event["request_ip"]),
        ]
        for (name, value) in fields {
            if let text = value?.stringValue, !text.isEmpty { out[name] = .string(text) }
        }
        if let session = context?["sessionId"]?.intValue { out["session_id"] = .int(session) }
    }
}

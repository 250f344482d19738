import EventModel

/// Intercom (REST API 2.x, Bearer token, `Intercom-Version` header).
///
/// - track → `POST /events` (a data event) `{event_name, created_at (Unix seconds), user_id |
///   email, metadata}`: the user is the userId (Intercom's `user_id`, the contact's external id),
///   else the email trait; anonymous events abort (Intercom data events need a known user).
///   Metadata keeps scalar properties (Intercom accepts at most 10 keys, of simple types; nested
///   values are dropped, the first 10 kept).
/// - identify and group → a ``DeliveryPlan`` (``IntercomPlanner``): contact search, then create
///   or update; company upsert, then attach the user. The router runs the plan as one delivery.
/// - page, screen, alias → not supported.
struct IntercomMapping: EventMapper {
    static let definition = DestinationDefinition(
        type: "intercom", displayName: "Intercom", integrationAliases: ["INTERCOM", "intercom"],
        kind: .stream, supportedMessageTypes: [.track, .identify, .group], secretConfigKeys: ["accessToken"],
        makeMapper: { config throws(DestinationConfigError) in IntercomMapping(config: try IntercomConfig(config)) }
    )

    /// Intercom keeps at most this many metadata keys per event.
    static let metadataLimit = 10

    let config: IntercomConfig

    func map(_ event: JSON) -> MappingOutcome {
        switch event.messageType {
        case .track: break
        case .identify, .group:
            switch IntercomPlanner(config: config).plan(event) {
            case .plan(let plan): return .plan(plan)
            case .abort(let reason): return .abort(reason: reason)
            }
        default:
            return .abort(reason: "message type \(event["type"]?.stringValue ?? "") is not supported by Intercom")
        }
        guard let name = event.eventName else { return .abort(reason: "track event has no event name") }
        var body = JSONObject()
        body["event_name"] = .string(name)
        guard let milliseconds = event.timestampMilliseconds else { return .abort(reason: "track event has no valid timestamp") }
        body["created_at"] = .int(milliseconds / 1000)
        if let userId = event.userIdText {
            body["user_id"] = .string(userId)
        } else if let email = event.mergedTraits["email"]?.identifierText {
            body["email"] = .string(email)
        } else {
            return .abort(reason: "Intercom events need a userId or an email trait")
        }
        var metadata = JSONObject()
        for (key, value) in event.propertiesObject where metadata.count < Self.metadataLimit {
            switch value {
            case .string, .int, .double, .bool: metadata[key] = value
            default: continue
            }
        }
        if !metadata.isEmpty { body["metadata"] = .object(metadata) }
        return .requests([
            DestinationRequest(
                method: .post, url: config.baseURL + "/events",
                headers: [
                    ("Content-Type", "application/json"), ("Accept", "application/json"),
                    ("Authorization", config.authorization), ("Intercom-Version", config.apiVersion),
                ],
                body: .json(.object(body)))
        ])
    }
}

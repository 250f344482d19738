import EventModel

/// Customer.io through the Track API v1 (https://track.customer.io/api/v1, Basic auth
/// `siteId:apiKey`; `track-eu` for the EU region).
///
/// - identify → `PUT /customers/{userId}` with the traits as attributes, `created_at` in Unix
///   seconds (from a `createdAt`/`created_at` trait; never invented, since it means signup) and
///   `anonymous_id`, so Customer.io merges that visitor's anonymous events. Without a userId the
///   email trait is the identifier.
/// - track → `POST /customers/{userId}/events` `{name, data, timestamp}`; without a userId an
///   anonymous event, `POST /events` with `anonymous_id`.
/// - page / screen → the same, with `type` `page` (name = the page URL) or `screen`.
/// - alias → `POST /merge_customers` merging `previousId` (secondary) into `userId` (primary);
///   identifiers with an `@` are sent as `email`, others as `id`.
struct CustomerIOMapping: EventMapper {
    static let definition = DestinationDefinition(
        type: "customerio", displayName: "Customer.io", integrationAliases: ["CUSTOMERIO", "customerio"],
        kind: .stream, supportedMessageTypes: [.identify, .track, .page, .screen, .alias],
        secretConfigKeys: ["apiKey"],
        makeMapper: { config throws(DestinationConfigError) in CustomerIOMapping(config: try CustomerIOConfig(config)) }
    )

    let config: CustomerIOConfig

    func map(_ event: JSON) -> MappingOutcome {
        switch event.messageType {
        case .identify: return identify(event)
        case .track:
            guard let name = event.eventName else { return .abort(reason: "track event has no event name") }
            return activity(event, name: name, kind: nil)
        case .page:
            let name = event[path: "properties", "url"]?.stringValue ?? event[path: "context", "page", "url"]?.stringValue
                ?? event["name"]?.stringValue
            guard let name, !name.isEmpty else { return .abort(reason: "page event has no URL or name") }
            return activity(event, name: name, kind: "page")
        case .screen:
            let name = event["name"]?.stringValue ?? event[path: "properties", "name"]?.stringValue
            guard let name, !name.isEmpty else { return .abort(reason: "screen event has no name") }
            return activity(event, name: name, kind: "screen")
        case .alias: return merge(event)
        default: return .abort(reason: "message type is not supported by Customer.io")
        }
    }

    private func identify(_ event: JSON) -> MappingOutcome {
        var attributes = event.mergedTraits
        guard let identifier = event.userIdText ?? attributes["email"]?.identifierText else {
            return .abort(reason: "identify needs a userId or an email trait")
        }
        let createdAt = attributes.removeValue(forKey: "createdAt") ?? attributes.removeValue(forKey: "created_at")
        if let seconds = createdAt.flatMap(Self.unixSeconds) {
            attributes["created_at"] = .int(seconds)
        }
        if let anonymousId = event.anonymousIdText { attributes["anonymous_id"] = .string(anonymousId) }
        return .requests([
            request(.put, "/customers/" + URLEncoding.component(identifier), body: .object(attributes))
        ])
    }

    private func activity(_ event: JSON, name: String, kind: String?) -> MappingOutcome {
        var body = JSONObject()
        body["name"] = .string(name)
        if let kind { body["type"] = .string(kind) }
        body["data"] = .object(event.propertiesObject)
        if let milliseconds = event.timestampMilliseconds { body["timestamp"] = .int(milliseconds / 1000) }
        if let userId = event.userIdText {
            return .requests([
                request(.post, "/customers/" + URLEncoding.component(userId) + "/events", body: .object(body))
            ])
        }
        guard let anonymousId = event.anonymousIdText else {
            return .abort(reason: "event has neither userId nor anonymousId")
        }
        body.insert(.string(anonymousId), forKey: "anonymous_id", at: 1)
        return .requests([request(.post, "/events", body: .object(body))])
    }

    private func merge(_ event: JSON) -> MappingOutcome {
        guard let primary = event.userIdText else { return .abort(reason: "alias needs a userId") }
        guard let secondary = event["previousId"]?.identifierText else { return .abort(reason: "alias needs a previousId") }
        func person(_ identifier: String) -> JSON {
            identifier.contains("@") ? ["email": .string(identifier)] : ["id": .string(identifier)]
        }
        let body: JSON = ["primary": person(primary), "secondary": person(secondary)]
        return .requests([request(.post, "/merge_customers", body: body)])
    }

    private func request(_ method: DestinationRequest.Method, _ path: String, body: JSON) -> DestinationRequest {
        DestinationRequest(
            method: method, url: config.baseURL + path,
            headers: [("Content-Type", "application/json"), ("Authorization", config.authorization)],
            body: .json(body)
        )
    }

    /// Unix seconds from a trait: an RFC 3339 string, or a number of seconds (or milliseconds,
    /// when too large to be seconds).
    static func unixSeconds(_ value: JSON) -> Int64? {
        if let number = value.doubleValue {
            let seconds = number > 100_000_000_000 ? number / 1000 : number
            return Int64(exactly: seconds.rounded(.down))
        }
        if let text = value.stringValue { return EventTime.milliseconds(text).map { $0 / 1000 } }
        return nil
    }
}

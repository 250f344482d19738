import EventModel

/// Mixpanel through the Ingestion API: events with `POST /import` (Basic auth, JSON array of
/// `{event, properties}` with `time` in epoch milliseconds, `distinct_id` and `$insert_id` =
/// messageId so replays are deduplicated), profiles with `POST /engage` (`$token`,
/// `$distinct_id`, `$set`), groups with `POST /groups`.
///
/// Identity (config `identityMergeApi`):
/// - simplified (default): events carry `$user_id` ← userId and `$device_id` ← anonymousId, and
///   `distinct_id` is the userId, else `$device:<anonymousId>`; Mixpanel merges the two when an
///   event has both. identify → an `$identify` event with both ids (when there is an anonymousId)
///   and a profile `$set`; alias → abort (not used by Simplified ID Merge).
/// - original: `distinct_id` is the userId, else the anonymousId. identify → `$identify` event with
///   `$identified_id` and `$anon_id`, and a profile `$set`; alias → `$create_alias` event
///   `{distinct_id: previousId, alias: userId}`.
///
/// - track → the event with properties; page → `Loaded a Page`, screen → `Loaded a Screen`, with
///   `name` and properties.
/// - identify's profile `$set`: traits with Mixpanel's reserved names (`email` → `$email`,
///   `firstName` → `$first_name`, `createdAt` → `$created`, …); `$ip` from the event so profiles
///   are not located at the router's address.
/// - group → profile `$union` of `{<groupKey>: [groupId]}` and, when the group has traits, a
///   group profile `$set` (`POST /groups`).
///
/// Batching: `/import` takes up to 2000 events (10 MB) per request; jobs of one destination
/// combine by concatenating their arrays (the `/import` requests only; `/engage` and `/groups`
/// take up to 2000 updates each too). With `strict=1` a 400 answer lists `failed_records` by
/// index, which splits the result back per job.
struct MixpanelMapping: EventMapper {
    static let definition = DestinationDefinition(
        type: "mixpanel", displayName: "Mixpanel", integrationAliases: ["MIXPANEL", "mixpanel"],
        kind: .stream, supportedMessageTypes: [.identify, .track, .page, .screen, .group, .alias],
        secretConfigKeys: ["apiSecret", "serviceAccountSecret"],
        makeMapper: { config throws(DestinationConfigError) in MixpanelMapping(config: try MixpanelConfig(config)) }
    )

    /// Traits renamed to Mixpanel's reserved profile properties.
    static let reservedProfileNames: [String: String] = [
        "email": "$email", "phone": "$phone", "name": "$name", "firstName": "$first_name", "first_name": "$first_name",
        "lastName": "$last_name", "last_name": "$last_name", "avatar": "$avatar", "createdAt": "$created",
        "created_at": "$created", "city": "$city", "region": "$region",
    ]

    let config: MixpanelConfig

    func map(_ event: JSON) -> MappingOutcome {
        let userId = event.userIdText
        let anonymousId = event.anonymousIdText
        guard let distinctId = distinctId(userId: userId, anonymousId: anonymousId) else {
            return .abort(reason: "Mixpanel needs a distinct_id: the event has neither userId nor anonymousId")
        }
        switch event.messageType {
        case .track:
            guard let name = event.eventName else { return .abort(reason: "track event has no event name") }
            return .requests([importRequest([eventObject(name, event, distinctId: distinctId, properties: event.propertiesObject)])])
        case .page, .screen:
            var properties = event.propertiesObject
            if let name = event["name"]?.stringValue, !name.isEmpty { properties["name"] = .string(name) }
            let name = event.messageType == .page ? "Loaded a Page" : "Loaded a Screen"
            return .requests([importRequest([eventObject(name, event, distinctId: distinctId, properties: properties)])])
        case .identify:
            guard let userId else { return .abort(reason: "identify needs a userId") }
            var requests: [DestinationRequest] = []
            if let anonymousId {
                var properties = JSONObject()
                if config.identityMerge == .original {
                    properties["$identified_id"] = .string(userId)
                    properties["$anon_id"] = .string(anonymousId)
                }
                requests.append(importRequest([eventObject("$identify", event, distinctId: distinctId, properties: properties)]))
            }
            var update = profileUpdate(event, distinctId: distinctId)
            update["$set"] = .object(Self.profileProperties(event.mergedTraits))
            requests.append(jsonRequest(config.baseURL + "/engage", [.object(update)]))
            return .requests(requests)
        case .group:
            guard let groupId = event["groupId"]?.identifierText else { return .abort(reason: "group event has no groupId") }
            var update = profileUpdate(event, distinctId: distinctId)
            update["$union"] = .object(JSONObject([(key: config.groupKey, value: JSON.array([.string(groupId)]))]))
            var requests = [jsonRequest(config.baseURL + "/engage", [.object(update)])]
            if let traits = event["traits"]?.objectValue, !traits.isEmpty {
                let groupUpdate: JSON = [
                    "$token": .string(config.token), "$group_key": .string(config.groupKey),
                    "$group_id": .string(groupId), "$set": .object(traits),
                ]
                requests.append(jsonRequest(config.baseURL + "/groups", [groupUpdate]))
            }
            return .requests(requests)
        case .alias:
            guard config.identityMerge == .original else {
                return .abort(reason: "alias is not used with Mixpanel's Simplified ID Merge (identify merges ids); set identityMergeApi to original")
            }
            guard let userId else { return .abort(reason: "alias needs a userId") }
            guard let previousId = event["previousId"]?.identifierText else { return .abort(reason: "alias needs a previousId") }
            let properties = JSONObject([(key: "alias", value: .string(userId))])
            return .requests([importRequest([eventObject("$create_alias", event, distinctId: previousId, properties: properties)])])
        default:
            return .abort(reason: "event has no valid type")
        }
    }

    private func distinctId(userId: String?, anonymousId: String?) -> String? {
        if let userId { return userId }
        guard let anonymousId else { return nil }
        return config.identityMerge == .simplified ? "$device:" + anonymousId : anonymousId
    }

    /// `{event, properties}` with the reserved properties Mixpanel's import needs.
    private func eventObject(_ name: String, _ event: JSON, distinctId: String, properties: JSONObject) -> JSON {
        var properties = properties
        if let milliseconds = event.timestampMilliseconds { properties["time"] = .int(milliseconds) }
        properties["distinct_id"] = .string(distinctId)
        if let messageId = event["messageId"]?.identifierText, Self.isValidInsertId(messageId) {
            properties["$insert_id"] = .string(messageId)
        }
        if config.identityMerge == .simplified {
            if let userId = event.userIdText { properties["$user_id"] = .string(userId) }
            if let anonymousId = event.anonymousIdText { properties["$device_id"] = .string(anonymousId) }
        }
        let context = event["context"]
        for (name, value) in [
            ("ip", context?["ip"] ?? event["request_ip"]), ("$os", context?[path: "os", "name"]),
            ("$app_version_string", context?[path: "app", "version"]), ("$current_url", context?[path: "page", "url"]),
        ] {
            if properties[name] == nil, let text = value?.stringValue, !text.isEmpty { properties[name] = .string(text) }
        }
        return ["event": .string(name), "properties": .object(properties)]
    }

    private func profileUpdate(_ event: JSON, distinctId: String) -> JSONObject {
        var update = JSONObject()
        update["$token"] = .string(config.token)
        update["$distinct_id"] = .string(distinctId)
        if let ip = (event[path: "context", "ip"] ?? event["request_ip"])?.stringValue, !ip.isEmpty {
            update["$ip"] = .string(ip)
        }
        return update
    }

    static func profileProperties(_ traits: JSONObject) -> JSONObject {
        var out = JSONObject()
        for (key, value) in traits { out[reservedProfileNames[key] ?? key] = value }
        return out
    }

    /// Mixpanel accepts `$insert_id` of at most 36 letters, digits and dashes; another messageId
    /// is left out (the event is still sent, without deduplication).
    static func isValidInsertId(_ text: String) -> Bool {
        text.utf8.count <= 36
            && text.utf8.allSatisfy { ($0 >= 48 && $0 <= 57) || ($0 >= 65 && $0 <= 90) || ($0 >= 97 && $0 <= 122) || $0 == 45 }
    }

    private func importRequest(_ events: [JSON]) -> DestinationRequest {
        DestinationRequest(
            method: .post, url: config.importURL,
            headers: [("Content-Type", "application/json"), ("Authorization", config.authorization)], body: .json(.array(events)))
    }

    private func jsonRequest(_ url: String, _ updates: [JSON]) -> DestinationRequest {
        DestinationRequest(method: .post, url: url, headers: [("Content-Type", "application/json")], body: .json(.array(updates)))
    }
}

import EventModel

/// Google Analytics 4 through the Measurement Protocol: one `POST /mp/collect` per event with
/// `{client_id, user_id, timestamp_micros, user_properties, events: [{name, params}]}`.
///
/// - track: spec e-commerce events become GA4 recommended events with `items`
///   (``GA4EcommerceEvent/table``); other names are made valid GA4 names ("Button Clicked" →
///   `button_clicked`); reserved names abort. Remaining scalar properties become parameters.
/// - page → `page_view` (`page_location`, `page_title`, `page_referrer`); group → `join_group`.
/// - identify → dropped: GA4 has no identify call; traits travel as `user_properties` on events.
/// - `client_id` is the anonymousId, or `integrations["Google Analytics 4"].clientId`;
///   `session_id` may be given there too.
struct GA4Mapping: EventMapper {
    static let definition = DestinationDefinition(
        type: "ga4", displayName: "Google Analytics 4", integrationAliases: ["GA4", "GOOGLE_ANALYTICS_4"],
        kind: .stream, supportedMessageTypes: [.track, .page, .group, .identify], secretConfigKeys: ["apiSecret"],
        makeMapper: { config throws(DestinationConfigError) in GA4Mapping(config: try GA4Config(config)) }
    )

    /// GA4 keeps at most this many parameters per event, and user properties per request.
    static let parameterLimit = 25

    let config: GA4Config

    func map(_ event: JSON) -> MappingOutcome {
        let options = event[path: "integrations", "Google Analytics 4"]
        guard let clientId = options?["clientId"]?.identifierText ?? event.anonymousIdText else {
            return .abort(reason: "GA4 needs a client_id: the event has no anonymousId and no integrations clientId")
        }
        var parameters = Parameters()
        let name: String
        switch event.messageType {
        case .identify:
            return .drop(reason: "identify is not sent to GA4; traits travel as user_properties on later events")
        case .track:
            guard let eventName = event.eventName else { return .abort(reason: "track event has no event name") }
            let properties = event.propertiesObject
            if let ecommerce = GA4EcommerceEvent.table[eventName.trimmingSpaces.lowercased()] {
                name = ecommerce.name
                if let failure = parameters.addEcommerce(ecommerce, properties) { return .abort(reason: failure) }
            } else {
                switch GA4Naming.eventName(eventName) {
                case .success(let sanitized): name = sanitized
                case .failure(.reserved): return .abort(reason: "event name is reserved by GA4")
                case .failure: return .abort(reason: "event name has no letters GA4 accepts at its start")
                }
            }
            parameters.addRemaining(properties)
        case .page:
            name = "page_view"
            let properties = event.propertiesObject
            let page = event[path: "context", "page"]
            parameters.add("page_location", properties["url"] ?? page?["url"])
            parameters.add("page_title", properties["title"] ?? page?["title"])
            parameters.add("page_referrer", properties["referrer"] ?? page?["referrer"])
            parameters.consumed = Parameters.pageConsumed
            parameters.addRemaining(properties)
        case .group:
            name = "join_group"
            guard let groupId = event["groupId"]?.identifierText else { return .abort(reason: "group event has no groupId") }
            parameters.add("group_id", .string(groupId))
        default:
            return .abort(reason: "message type is not supported by Google Analytics 4")
        }
        if let sessionId = options?["sessionId"], !sessionId.isNull { parameters.add("session_id", sessionId) }

        var body = JSONObject()
        body["client_id"] = .string(clientId)
        if let userId = event.userIdText { body["user_id"] = .string(userId) }
        if let milliseconds = event.timestampMilliseconds { body["timestamp_micros"] = .int(milliseconds * 1000) }
        let userProperties = Self.userProperties(event.mergedTraits)
        if !userProperties.isEmpty { body["user_properties"] = .object(userProperties) }
        body["events"] = [["name": .string(name), "params": .object(parameters.object)]]
        return .requests([
            DestinationRequest(
                method: .post, url: config.collectURL, headers: [("Content-Type", "application/json")], body: .json(.object(body)))
        ])
    }

    /// Traits never sent as user properties: Google's terms forbid personally identifiable
    /// information in Analytics.
    static let personalTraits: Set<String> = [
        "email", "phone", "name", "firstName", "lastName", "first_name", "last_name", "address", "birthday",
    ]

    /// `{name: {value}}` for the scalar traits GA4 accepts (names ≤ 24, string values ≤ 36),
    /// without ``personalTraits``.
    static func userProperties(_ traits: JSONObject) -> JSONObject {
        var out = JSONObject()
        for (key, value) in traits where out.count < parameterLimit && !personalTraits.contains(key) {
            guard let name = GA4Naming.parameterName(key, limit: 24), !GA4Naming.reservedUserProperties.contains(name),
                let scalar = Parameters.scalar(value, maxLength: 36)
            else { continue }
            out[name] = ["value": scalar]
        }
        return out
    }
}

/// The `params` of one GA4 event, capped at ``GA4Mapping/parameterLimit``.
struct Parameters {
    var object = JSONObject()
    /// Spec properties already used by a mapping, not to be repeated as custom parameters.
    /// Always one of the shared sets below or an e-commerce event's
    /// ``GA4EcommerceEvent/consumedKeys``: no set is built per event.
    var consumed: Set<String> = Self.alwaysConsumed

    static let alwaysConsumed: Set<String> = ["products"]
    static let pageConsumed: Set<String> = ["products", "url", "title", "referrer"]

    mutating func add(_ name: String, _ value: JSON?) {
        guard let value, !value.isNull, object.count < GA4Mapping.parameterLimit, object[name] == nil else { return }
        object[name] = value
    }

    /// Adds the mapped parameters and items of an e-commerce event; a failure reason or `nil`.
    mutating func addEcommerce(_ event: GA4EcommerceEvent, _ properties: JSONObject) -> String? {
        consumed = event.consumedKeys
        for (ga4, spec) in event.parameters {
            add(ga4, spec.lazy.compactMap { properties[$0] }.first { !$0.isNull })
        }
        for (name, value) in event.constants { add(name, value) }
        if object["value"] != nil, object["currency"] == nil { add("currency", "USD") }
        var items: [JSON] = []
        switch event.items {
        case .none: break
        case .products:
            for product in properties["products"]?.arrayValue ?? [] {
                if let item = product.objectValue.flatMap(GA4EcommerceEvent.item(from:)) { items.append(item) }
            }
        case .singleProduct:
            if let item = GA4EcommerceEvent.item(from: properties) { items.append(item) }
        }
        if event.itemsRequired, items.isEmpty {
            return "\(event.name) needs at least one product with a product_id or name"
        }
        if !items.isEmpty { object["items"] = .array(items) }
        return nil
    }

    /// Adds the properties not yet used, as valid parameter names with scalar values; nested
    /// objects one level deep as `parent_child`.
    mutating func addRemaining(_ properties: JSONObject) {
        for (key, value) in properties where !consumed.contains(key) {
            if let nested = value.objectValue {
                for (childKey, childValue) in nested {
                    guard let name = GA4Naming.parameterName(key + "_" + childKey) else { continue }
                    add(name, Self.scalar(childValue, maxLength: 100))
                }
                continue
            }
            guard let name = GA4Naming.parameterName(key) else { continue }
            add(name, Self.scalar(value, maxLength: 100))
        }
    }

    /// `text` cut to `maxLength` characters. Counting characters walks grapheme clusters, so
    /// it is avoided where bytes tell: at most `maxLength` bytes is at most `maxLength`
    /// characters; when the first `maxLength + 1` bytes are ASCII other than `\r` (the one ASCII
    /// byte that joins the next, in `\r\n`), each is one character, so the first `maxLength`
    /// bytes are the first `maxLength` characters.
    static func truncated(_ text: String, _ maxLength: Int) -> String {
        let utf8 = text.utf8
        if utf8.count <= maxLength { return text }
        if utf8.prefix(maxLength + 1).allSatisfy({ $0 < 0x80 && $0 != 0x0D }) {
            return String(decoding: utf8.prefix(maxLength), as: UTF8.self)
        }
        return text.count > maxLength ? String(text.prefix(maxLength)) : text
    }

    /// Strings (cut to `maxLength` characters), numbers, and booleans as strings; `nil` else.
    static func scalar(_ value: JSON, maxLength: Int) -> JSON? {
        switch value {
        case .string(let text): .string(truncated(text, maxLength))
        case .int, .double: value
        case .bool(let flag): .string(flag ? "true" : "false")
        default: nil
        }
    }
}

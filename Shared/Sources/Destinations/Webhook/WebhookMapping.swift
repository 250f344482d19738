import EventModel

/// Webhook: the whole event as a JSON body (POST, PUT, PATCH), or its properties (traits for
/// identify and group) as query parameters (GET, DELETE).
///
/// Per-event overrides, usually set by a user transformation, as in RudderStack: top-level
/// `header` (object of extra headers), `appendPath` (appended to the configured URL) and
/// `fullPath` (replaces the URL). They are read from the event first, then from
/// `integrations.Webhook`; the top-level fields are removed from the body sent.
struct WebhookMapping: EventMapper {
    static let definition = DestinationDefinition(
        type: "webhook", displayName: "Webhook", integrationAliases: ["WEBHOOK"], kind: .stream,
        supportedMessageTypes: Set(MessageType.allCases), secretConfigKeys: [],
        makeMapper: { config throws(DestinationConfigError) in WebhookMapping(config: try WebhookConfig(config)) }
    )

    static let overrideKeys = ["header", "appendPath", "fullPath"]

    let config: WebhookConfig

    func map(_ event: JSON) -> MappingOutcome {
        let options = event[path: "integrations", "Webhook"]
        func override(_ key: String) -> JSON? {
            if let value = event[key], !value.isNull { return value }
            if let value = options?[key], !value.isNull { return value }
            return nil
        }

        var url = config.url
        if let fullPath = override("fullPath") {
            guard let text = fullPath.stringValue, text.lowercased().hasPrefix("http") else {
                return .abort(reason: "fullPath must be an http or https URL")
            }
            url = text
        } else if let appendPath = override("appendPath") {
            guard let text = appendPath.stringValue else { return .abort(reason: "appendPath must be a string") }
            url = Self.join(url, text)
        }

        var headers: [(name: String, value: String)] = []
        if config.method.carriesBody { headers.append(("Content-Type", "application/json")) }
        headers += config.headers
        if let extra = override("header") {
            guard let object = extra.objectValue else { return .abort(reason: "header must be an object") }
            for (name, value) in object {
                headers.removeAll { $0.name.lowercased() == name.lowercased() }
                headers.append((name, value.parameterText))
            }
        }

        if config.method.carriesBody {
            var body = event
            for key in Self.overrideKeys { body[key] = nil }
            return .requests([DestinationRequest(method: config.method, url: url, headers: headers, body: .json(body))])
        }
        let source: JSONObject
        switch event.messageType {
        case .identify: source = event.mergedTraits
        case .group: source = event["traits"]?.objectValue ?? JSONObject()
        default: source = event.propertiesObject
        }
        let query = source.map { ($0.key, $0.value.parameterText) }
        return .requests([
            DestinationRequest(method: config.method, url: URLEncoding.appendingQuery(url, query), headers: headers)
        ])
    }

    /// `base` + `/` + `path`, with exactly one slash between them.
    static func join(_ base: String, _ path: String) -> String {
        guard !path.isEmpty else { return base }
        if path.hasPrefix("?") { return base + path }
        let trimmedBase = base.hasSuffix("/") ? String(base.dropLast()) : base
        let trimmedPath = path.hasPrefix("/") ? String(path.dropFirst()) : path
        return trimmedBase + "/" + trimmedPath
    }
}

import EventModel

/// Slack through incoming webhooks: one `POST <webhook URL>` with `{"text": …}` per event.
///
/// - identify → the identify template (default `Identified {{name}}`).
/// - track → the first matching `eventTemplates` rule, else the track template (default
///   `{{name}} did {{event}}`); sent to the first matching `channelRules` webhook (and `channel`),
///   else the configured webhook.
/// - page, screen, group, alias → abort.
///
/// Values from the event are escaped as Slack's message formatting requires (`&`, `<`, `>`), so an
/// event cannot inject mentions such as `<!channel>` or links; the templates' own text is sent as
/// written. No batching: each webhook call posts one message.
struct SlackMapping: EventMapper {
    static let definition = DestinationDefinition(
        type: "slack", displayName: "Slack", integrationAliases: ["SLACK", "slack"],
        kind: .stream, supportedMessageTypes: [.identify, .track], secretConfigKeys: ["webhookUrl"],
        makeMapper: { config throws(DestinationConfigError) in SlackMapping(config: try SlackConfig(config)) }
    )

    let config: SlackConfig

    func map(_ event: JSON) -> MappingOutcome {
        var url = config.webhookURL
        var channel: String?
        let template: EventTemplate
        switch event.messageType {
        case .identify:
            template = config.identifyTemplate
        case .track:
            guard let name = event.eventName else { return .abort(reason: "track event has no event name") }
            template = config.eventTemplates.first { $0.matcher.matches(name) }?.template ?? config.trackTemplate
            if let rule = config.channelRules.first(where: { $0.matcher.matches(name) }) {
                if let ruleURL = rule.webhookURL { url = ruleURL }
                channel = rule.channel
            }
        default:
            return .abort(reason: "message type \(event["type"]?.stringValue ?? "") is not supported by Slack")
        }
        var scope = event.objectValue ?? JSONObject()
        if let displayName = Self.displayName(event) { scope["name"] = .string(displayName) }
        let text = template.render(.object(scope), escape: Self.escape) ?? ""
        guard !text.trimmingSpaces.isEmpty else { return .abort(reason: "the Slack template renders an empty message") }
        var body = JSONObject()
        body["text"] = .string(text)
        if let channel { body["channel"] = .string(channel) }
        return .requests([
            DestinationRequest(method: .post, url: url, headers: [("Content-Type", "application/json")], body: .json(.object(body)))
        ])
    }

    /// The `name` trait, else first and last name, else userId, else anonymousId.
    static func displayName(_ event: JSON) -> String? {
        let traits = event.mergedTraits
        if let name = traits["name"]?.identifierText { return name }
        let parts = [traits["firstName"] ?? traits["first_name"], traits["lastName"] ?? traits["last_name"]]
            .compactMap { $0?.identifierText }
        if !parts.isEmpty { return parts.joined(separator: " ") }
        return event.userIdText ?? event.anonymousIdText
    }

    /// Slack's control characters in message text.
    static func escape(_ text: String) -> String {
        text.replacingAll("&", with: "&amp;").replacingAll("<", with: "&lt;").replacingAll(">", with: "&gt;")
    }
}

import EventModel

/// Slack settings (incoming webhooks).
///
/// - `webhookUrl` (required): the incoming webhook URL (`https://hooks.slack.com/services/…`);
///   a secret, masked in previews.
/// - `identifyTemplate` (default `Identified {{name}}`) and `trackTemplate` (default
///   `{{name}} did {{event}}`): message templates; `{{name}}` is the user's display name (the
///   `name` trait, else first and last name, else userId, else anonymousId), other placeholders are
///   dotted paths into the event (`{{properties.plan}}`, `{{traits.email}}`, `{{context.page.url}}`).
/// - `eventTemplates`: `[{event, template, regex?}]`, a template per track event name (exact, or a
///   regular expression when `regex` is true); first match wins over `trackTemplate`.
/// - `channelRules`: `[{event, regex?, webhookUrl?, channel?}]`, where matching track events go:
///   another webhook URL and/or a `channel` override (honoured by legacy webhooks). First match wins.
struct SlackConfig: Sendable {
    /// A track event name matcher: exact name or a regular expression (whole-name match). The
    /// expression is checked when the config is read; it is compiled again per match because the
    /// standard library's `Regex` is not `Sendable` (Slack volumes make that cost irrelevant).
    struct Matcher: Sendable {
        var name: String
        var isRegex: Bool

        func matches(_ event: String) -> Bool {
            guard isRegex else { return event == name }
            guard let pattern = try? Regex(name) else { return false }
            return (try? pattern.wholeMatch(in: event)) != nil
        }
    }

    struct TemplateRule: Sendable {
        var matcher: Matcher
        var template: EventTemplate
    }

    struct ChannelRule: Sendable {
        var matcher: Matcher
        var webhookURL: String?
        var channel: String?
    }

    var webhookURL: String
    var identifyTemplate: EventTemplate
    var trackTemplate: EventTemplate
    var eventTemplates: [TemplateRule]
    var channelRules: [ChannelRule]

    init(_ config: JSON) throws(DestinationConfigError) {
        let reader = ConfigReader(config)
        webhookURL = try Self.url(try reader.required("webhookUrl"), key: "webhookUrl")
        identifyTemplate = try AmplitudeConfig.template(reader, "identifyTemplate", default: "Identified {{name}}")
        trackTemplate = try AmplitudeConfig.template(reader, "trackTemplate", default: "{{name}} did {{event}}")
        eventTemplates = []
        for (index, rule) in try Self.list(config, "eventTemplates").enumerated() {
            let key = "eventTemplates[\(index)]"
            let matcher = try Self.matcher(rule, key: key)
            guard let text = rule["template"]?.stringValue, let template = EventTemplate(text) else {
                throw DestinationConfigError(key: key + ".template", reason: "must be a template string with closed {{…}} placeholders")
            }
            eventTemplates.append(TemplateRule(matcher: matcher, template: template))
        }
        channelRules = []
        for (index, rule) in try Self.list(config, "channelRules").enumerated() {
            let key = "channelRules[\(index)]"
            let matcher = try Self.matcher(rule, key: key)
            let url = try rule["webhookUrl"]?.stringValue.map { text throws(DestinationConfigError) in
                try Self.url(text, key: key + ".webhookUrl")
            }
            let channel = rule["channel"]?.stringValue.flatMap { $0.isEmpty ? nil : $0 }
            guard url != nil || channel != nil else {
                throw DestinationConfigError(key: key, reason: "needs a webhookUrl or a channel")
            }
            channelRules.append(ChannelRule(matcher: matcher, webhookURL: url, channel: channel))
        }
    }

    static func list(_ config: JSON, _ key: String) throws(DestinationConfigError) -> [JSON] {
        guard let value = config[key], !value.isNull else { return [] }
        guard let items = value.arrayValue, items.allSatisfy({ $0.objectValue != nil }) else {
            throw DestinationConfigError(key: key, reason: "must be a list of objects")
        }
        return items
    }

    static func matcher(_ rule: JSON, key: String) throws(DestinationConfigError) -> Matcher {
        guard let name = rule["event"]?.stringValue, !name.isEmpty else {
            throw DestinationConfigError(key: key + ".event", reason: "is required")
        }
        guard rule["regex"]?.boolValue == true else { return Matcher(name: name, isRegex: false) }
        do {
            _ = try Regex(name)
            return Matcher(name: name, isRegex: true)
        } catch {
            throw DestinationConfigError(key: key + ".event", reason: "is not a valid regular expression")
        }
    }

    static func url(_ text: String, key: String) throws(DestinationConfigError) -> String {
        guard text.hasPrefix("https://") || text.hasPrefix("http://") else {
            throw DestinationConfigError(key: key, reason: "must be an http or https URL")
        }
        return text
    }
}

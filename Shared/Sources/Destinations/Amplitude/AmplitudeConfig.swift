import EventModel

/// Amplitude HTTP V2 API settings.
///
/// - `apiKey` (required): the project's API key, sent in the body (`api_key`).
/// - `region`: `US` (default, api2.amplitude.com) or `EU` (api.eu.amplitude.com); RudderStack's
///   `residencyServer` (`standard`/`EU`) is accepted. `endpoint` replaces the host (a proxy, or a
///   local server in tests).
/// - `pageEventName` / `screenEventName`: templates for page and screen event names, default
///   `Viewed {{name}} Page` / `Viewed {{name}} Screen`; an event without a name is sent as
///   `Loaded a Page` / `Loaded a Screen`.
/// - `groupType` (default `company`) and `groupTypeTrait` (a trait whose value names the group
///   type, overriding `groupType` when present): group calls set `groups: {type: groupId}`.
/// - `minIdLength`: Amplitude drops user and device ids shorter than 5 characters unless the
///   upload's `options.min_id_length` says otherwise.
struct AmplitudeConfig: Sendable {
    var apiKey: String
    var baseURL: String
    var pageName: EventTemplate
    var screenName: EventTemplate
    var groupType: String
    var groupTypeTrait: String?
    var minIdLength: Int64?

    init(_ config: JSON) throws(DestinationConfigError) {
        let reader = ConfigReader(config)
        apiKey = try reader.required("apiKey")
        let regionKey = config["residencyServer"] != nil && config["region"] == nil ? "residencyServer" : "region"
        switch (try reader.optional(regionKey) ?? "US").uppercased() {
        case "US", "STANDARD": baseURL = "https://api2.amplitude.com"
        case "EU": baseURL = "https://api.eu.amplitude.com"
        default: throw DestinationConfigError(key: regionKey, reason: "must be US or EU")
        }
        if let endpoint = try reader.optional("endpoint") {
            guard endpoint.hasPrefix("https://") || endpoint.hasPrefix("http://") else {
                throw DestinationConfigError(key: "endpoint", reason: "must be an http or https URL")
            }
            baseURL = endpoint
            while baseURL.hasSuffix("/") { baseURL.removeLast() }
        }
        pageName = try Self.template(reader, "pageEventName", default: "Viewed {{name}} Page")
        screenName = try Self.template(reader, "screenEventName", default: "Viewed {{name}} Screen")
        groupType = try reader.optional("groupType") ?? "company"
        groupTypeTrait = try reader.optional("groupTypeTrait")
        if let value = config["minIdLength"], !value.isNull {
            guard let number = value.intValue, number >= 1 else {
                throw DestinationConfigError(key: "minIdLength", reason: "must be a positive integer")
            }
            minIdLength = number
        }
    }

    static func template(_ reader: ConfigReader, _ key: String, default defaultText: String) throws(DestinationConfigError)
        -> EventTemplate
    {
        guard let template = EventTemplate(try reader.optional(key) ?? defaultText) else {
            throw DestinationConfigError(key: key, reason: "has an unclosed or empty {{…}} placeholder")
        }
        return template
    }
}

import EventModel

/// HubSpot settings.
///
/// - `accessToken` (required): a private app's access token, sent as `Authorization: Bearer`.
///   The app needs the `crm.objects.contacts.write` scope (identify) and `analytics.behavioral_events.send`
///   (track).
/// - `events`: an object mapping track event names to custom behavioural event internal names,
///   e.g. `{"Signed Up": "pe1234567_signed_up"}`; track events not listed are dropped (HubSpot
///   only accepts events defined in the portal).
/// - `baseURL`: `https://api.hubapi.com` unless set (for a proxy or a test server).
struct HubSpotConfig: Sendable {
    var baseURL: String
    var authorization: String
    var events: [String: String]

    init(_ config: JSON) throws(DestinationConfigError) {
        let reader = ConfigReader(config)
        authorization = "Bearer " + (try reader.required("accessToken"))
        baseURL = try reader.optional("baseURL") ?? "https://api.hubapi.com"
        guard baseURL.hasPrefix("https://") || baseURL.hasPrefix("http://") else {
            throw DestinationConfigError(key: "baseURL", reason: "must be an http or https URL")
        }
        while baseURL.hasSuffix("/") { baseURL.removeLast() }
        events = [:]
        if let value = config["events"], !value.isNull {
            guard let object = value.objectValue else { throw DestinationConfigError(key: "events", reason: "must be an object") }
            for (name, target) in object {
                guard let internalName = target.stringValue?.trimmingSpaces, !internalName.isEmpty else {
                    throw DestinationConfigError(key: "events.\(name)", reason: "must be a non-empty string")
                }
                events[name] = internalName
            }
        }
    }
}

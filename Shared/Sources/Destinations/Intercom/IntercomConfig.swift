import EventModel

/// Intercom settings.
///
/// - `accessToken` (required): an access token of the workspace's Intercom app, sent as
///   `Authorization: Bearer`.
/// - `region`: `US` (default, api.intercom.io), `EU` (api.eu.intercom.io) or `AU`
///   (api.au.intercom.io). `endpoint` replaces that host (a proxy, or a local server in tests).
/// - `apiVersion` (default `2.11`): sent as the `Intercom-Version` header, so Intercom's answers
///   do not change under us when the app's default version moves.
struct IntercomConfig: Sendable {
    var baseURL: String
    var authorization: String
    var apiVersion: String

    init(_ config: JSON) throws(DestinationConfigError) {
        let reader = ConfigReader(config)
        authorization = "Bearer " + (try reader.required("accessToken"))
        switch (try reader.optional("region") ?? "US").uppercased() {
        case "US": baseURL = "https://api.intercom.io"
        case "EU": baseURL = "https://api.eu.intercom.io"
        case "AU": baseURL = "https://api.au.intercom.io"
        default: throw DestinationConfigError(key: "region", reason: "must be US, EU or AU")
        }
        if let endpoint = try reader.optional("endpoint") {
            guard endpoint.hasPrefix("https://") || endpoint.hasPrefix("http://") else {
                throw DestinationConfigError(key: "endpoint", reason: "must be an http or https URL")
            }
            baseURL = endpoint
            while baseURL.hasSuffix("/") { baseURL.removeLast() }
        }
        apiVersion = try reader.optional("apiVersion") ?? "2.11"
        guard apiVersion.allSatisfy({ $0.isNumber || $0 == "." }) || apiVersion == "Unstable" else {
            throw DestinationConfigError(key: "apiVersion", reason: "must be an Intercom API version such as 2.11")
        }
    }
}

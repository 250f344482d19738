import EventModel

/// Mixpanel settings.
///
/// - `token` (required): the project token, sent in profile and group updates (`$token`).
/// - Import authentication, one of: `serviceAccountUsername` + `serviceAccountSecret` + `projectId`
///   (Mixpanel's recommended service account; `project_id` goes in the query), or `apiSecret` (the
///   project's legacy API secret, as the Basic username with an empty password).
/// - `dataResidency`: `US` (default, api.mixpanel.com), `EU` (api-eu.mixpanel.com) or `IN`
///   (api-in.mixpanel.com). `endpoint` replaces that host (a proxy, or a local server in tests).
/// - `identityMergeApi`: `simplified` (default; Mixpanel's Simplified ID Merge) or `original`.
/// - `groupKey` (default `company`): the group key group calls use.
struct MixpanelConfig: Sendable {
    enum IdentityMerge: String, Sendable { case simplified, original }

    var token: String
    var baseURL: String
    var authorization: String
    var projectId: String?
    var identityMerge: IdentityMerge
    var groupKey: String

    init(_ config: JSON) throws(DestinationConfigError) {
        let reader = ConfigReader(config)
        token = try reader.required("token")
        if let username = try reader.optional("serviceAccountUsername") {
            let secret = try reader.required("serviceAccountSecret")
            projectId = try reader.required("projectId")
            authorization = "Basic " + Base64.encode(username + ":" + secret)
        } else if let apiSecret = try reader.optional("apiSecret") {
            projectId = try reader.optional("projectId")
            authorization = "Basic " + Base64.encode(apiSecret + ":")
        } else {
            throw DestinationConfigError(
                key: "apiSecret", reason: "is required (or serviceAccountUsername, serviceAccountSecret and projectId)")
        }
        switch (try reader.optional("dataResidency") ?? "US").uppercased() {
        case "US": baseURL = "https://api.mixpanel.com"
        case "EU": baseURL = "https://api-eu.mixpanel.com"
        case "IN": baseURL = "https://api-in.mixpanel.com"
        default: throw DestinationConfigError(key: "dataResidency", reason: "must be US, EU or IN")
        }
        if let endpoint = try reader.optional("endpoint") {
            guard endpoint.hasPrefix("https://") || endpoint.hasPrefix("http://") else {
                throw DestinationConfigError(key: "endpoint", reason: "must be an http or https URL")
            }
            baseURL = endpoint
            while baseURL.hasSuffix("/") { baseURL.removeLast() }
        }
        let merge = (try reader.optional("identityMergeApi") ?? "simplified").lowercased()
        guard let identityMerge = IdentityMerge(rawValue: merge) else {
            throw DestinationConfigError(key: "identityMergeApi", reason: "must be simplified or original")
        }
        self.identityMerge = identityMerge
        groupKey = try reader.optional("groupKey") ?? "company"
    }

    /// `/import?strict=1` (Mixpanel validates every event and answers 400 listing the bad ones),
    /// with `project_id` when known (required with a service account).
    var importURL: String {
        var url = baseURL + "/import?strict=1"
        if let projectId { url += "&project_id=" + URLEncoding.component(projectId) }
        return url
    }
}

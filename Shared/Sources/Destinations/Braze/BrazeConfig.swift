import EventModel

/// Braze settings.
///
/// - `restApiKey` (required): a REST API key with the `users.track` (and, for merging anonymous
///   users, `users.identify`) permission, sent as `Authorization: Bearer`.
/// - `restEndpoint`: the instance's REST endpoint, e.g. `https://rest.iad-01.braze.com`; or
///   `dataCenter`: `US-01` … `US-08` (`rest.iad-0N.braze.com`), `EU-01`, `EU-02`
///   (`rest.fra-0N.braze.eu`). One of the two is required.
/// - `mergeAnonymousUsers` (default true): identify with both ids first calls `/users/identify`
///   so the anonymous visitor's alias profile merges into the identified user.
struct BrazeConfig: Sendable {
    var baseURL: String
    var authorization: String
    var mergeAnonymousUsers: Bool

    init(_ config: JSON) throws(DestinationConfigError) {
        let reader = ConfigReader(config)
        authorization = "Bearer " + (try reader.required("restApiKey"))
        if let endpoint = try reader.optional("restEndpoint") {
            guard endpoint.hasPrefix("https://") || endpoint.hasPrefix("http://") else {
                throw DestinationConfigError(key: "restEndpoint", reason: "must be an http or https URL")
            }
            baseURL = endpoint
            while baseURL.hasSuffix("/") { baseURL.removeLast() }
        } else if let dataCenter = try reader.optional("dataCenter") {
            let code = dataCenter.uppercased()
            let parts = code.split(separator: "-")
            guard parts.count == 2, let number = Int(parts[1]), number >= 1, number <= 9 else {
                throw DestinationConfigError(key: "dataCenter", reason: "must be a Braze data centre such as US-01 or EU-01")
            }
            switch parts[0] {
            case "US": baseURL = "https://rest.iad-0\(number).braze.com"
            case "EU": baseURL = "https://rest.fra-0\(number).braze.eu"
            default: throw DestinationConfigError(key: "dataCenter", reason: "must be a Braze data centre such as US-01 or EU-01")
            }
        } else {
            throw DestinationConfigError(key: "restEndpoint", reason: "is required (or dataCenter)")
        }
        mergeAnonymousUsers = try reader.flag("mergeAnonymousUsers", default: true)
    }
}

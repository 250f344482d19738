import EventModel

/// Customer.io Track API v1 settings: `siteId` (or RudderStack's `siteID`), `apiKey`, and
/// `region` (`US`, the default, or `EU`; RudderStack's `datacenter` is accepted too).
/// `endpoint` replaces the region's host (`https://track.customer.io`): a proxy, or a local
/// server in tests; requests go to `<endpoint>/api/v1/…`.
struct CustomerIOConfig: Sendable {
    var baseURL: String
    /// `Basic base64(siteId:apiKey)`, computed once.
    var authorization: String

    init(_ config: JSON) throws(DestinationConfigError) {
        let reader = ConfigReader(config)
        let siteKey = config["siteID"] != nil && config["siteId"] == nil ? "siteID" : "siteId"
        let siteId = try reader.required(siteKey)
        let apiKey = try reader.required("apiKey")
        let regionKey = config["datacenter"] != nil && config["region"] == nil ? "datacenter" : "region"
        switch (try reader.optional(regionKey) ?? "US").uppercased() {
        case "US": baseURL = "https://track.customer.io/api/v1"
        case "EU": baseURL = "https://track-eu.customer.io/api/v1"
        default: throw DestinationConfigError(key: regionKey, reason: "must be US or EU")
        }
        if let endpoint = try reader.optional("endpoint") {
            guard endpoint.hasPrefix("https://") || endpoint.hasPrefix("http://") else {
                throw DestinationConfigError(key: "endpoint", reason: "must be an http or https URL")
            }
            var host = endpoint
            while host.hasSuffix("/") { host.removeLast() }
            baseURL = host + "/api/v1"
        }
        authorization = "Basic " + Base64.encode(siteId + ":" + apiKey)
    }
}

import EventModel

/// Google Analytics 4 Measurement Protocol settings: `measurementId` (`G-…`), `apiSecret`
/// (created under Admin › Data streams › Measurement Protocol API secrets), and optional
/// `region` (`EU` sends to `region1.google-analytics.com`, which keeps collection in the EU).
/// `endpoint` replaces the host (a proxy such as a server-side tagging server, or a local server
/// in tests); events go to `<endpoint>/mp/collect`.
struct GA4Config: Sendable {
    var collectURL: String

    init(_ config: JSON) throws(DestinationConfigError) {
        let reader = ConfigReader(config)
        let measurementId = try reader.required("measurementId")
        guard measurementId.uppercased().hasPrefix("G-") else {
            throw DestinationConfigError(key: "measurementId", reason: "must be a web stream measurement id (G-…)")
        }
        let apiSecret = try reader.required("apiSecret")
        var host: String
        switch (try reader.optional("region") ?? "").uppercased() {
        case "", "GLOBAL", "US": host = "https://www.google-analytics.com"
        case "EU": host = "https://region1.google-analytics.com"
        default: throw DestinationConfigError(key: "region", reason: "must be EU or absent")
        }
        if let endpoint = try reader.optional("endpoint") {
            guard endpoint.hasPrefix("https://") || endpoint.hasPrefix("http://") else {
                throw DestinationConfigError(key: "endpoint", reason: "must be an http or https URL")
            }
            host = endpoint
            while host.hasSuffix("/") { host.removeLast() }
        }
        collectURL = URLEncoding.appendingQuery(
            host + "/mp/collect", [("measurement_id", measurementId), ("api_secret", apiSecret)])
    }
}

import EventModel

/// Google Analytics 4 Measurement Protocol settings: `measurementId` (`G-…`), `apiSecret`
/// (created under Admin › Data streams › Measurement Protocol API secrets), and optional
/// `region` (`EU` sends to `region1.google-analytics.com`, which keeps collection in the EU).
struct GA4Config: Sendable {
    var collectURL: String

    init(_ config: JSON) throws(DestinationConfigError) {
        let reader = ConfigReader(config)
        let measurementId = try reader.required("measurementId")
        guard measurementId.uppercased().hasPrefix("G-") else {
            throw DestinationConfigError(key: "measurementId", reason: "must be a web stream measurement id (G-…)")
        }
        let apiSecret = try reader.required("apiSecret")
        let host: String
        switch (try reader.optional("region") ?? "").uppercased() {
        case "", "GLOBAL", "US": host = "https://www.google-analytics.com"
        case "EU": host = "https://region1.google-analytics.com"
        default: throw DestinationConfigError(key: "region", reason: "must be EU or absent")
        }
        collectURL = URLEncoding.appendingQuery(
            host + "/mp/collect", [("measurement_id", measurementId), ("api_secret", apiSecret)])
    }
}

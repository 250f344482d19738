import EventModel

/// A webhook destination's settings: `url` (required, http or https), `method` (POST, PUT,
/// PATCH, GET or DELETE; default POST), `headers` (an object of name → value, or RudderStack's
/// list of `{from: name, to: value}`; non-string values are sent as their JSON text).
/// RudderStack's `webhookUrl` and `webhookMethod` are accepted for `url` and `method`.
struct WebhookConfig: Sendable {
    var url: String
    var method: DestinationRequest.Method
    var headers: [(name: String, value: String)]

    init(_ config: JSON) throws(DestinationConfigError) {
        let reader = ConfigReader(config)
        let urlKey = config["url"] == nil && config["webhookUrl"] != nil ? "webhookUrl" : "url"
        url = try reader.required(urlKey)
        let lowered = url.lowercased()
        guard lowered.hasPrefix("http://") || lowered.hasPrefix("https://") else {
            throw DestinationConfigError(key: urlKey, reason: "must be an http or https URL")
        }
        let methodKey = config["method"] == nil && config["webhookMethod"] != nil ? "webhookMethod" : "method"
        let methodName = try reader.optional(methodKey) ?? "POST"
        guard let method = DestinationRequest.Method(rawValue: methodName.uppercased()) else {
            throw DestinationConfigError(key: methodKey, reason: "must be one of GET, POST, PUT, PATCH, DELETE")
        }
        self.method = method
        headers = try Self.readHeaders(config["headers"])
    }

    private static func readHeaders(_ value: JSON?) throws(DestinationConfigError) -> [(name: String, value: String)] {
        guard let value, !value.isNull else { return [] }
        var headers: [(name: String, value: String)] = []
        if let object = value.objectValue {
            for (name, value) in object where !name.trimmingSpaces.isEmpty {
                headers.append((name.trimmingSpaces, value.parameterText))
            }
            return headers
        }
        guard let list = value.arrayValue else {
            throw DestinationConfigError(key: "headers", reason: "must be a list of {from, to} or an object")
        }
        for (index, entry) in list.enumerated() {
            guard let name = entry["from"]?.stringValue?.trimmingSpaces else {
                throw DestinationConfigError(key: "headers[\(index)].from", reason: "must be a string")
            }
            // The dashboard leaves empty rows behind; skip them as RudderStack does.
            if name.isEmpty { continue }
            headers.append((name, entry["to"]?.parameterText ?? ""))
        }
        return headers
    }
}

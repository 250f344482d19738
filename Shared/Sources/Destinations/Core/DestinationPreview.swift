import EventModel

/// What `keel destination preview` prints: the destination transformation's outcome for one
/// event, as JSON, with secrets masked. It runs exactly the processor's transformation
/// (``DestinationDefinition/transform(_:with:)``); only the masking is added.
public enum DestinationPreview {
    public static let mask = "****"

    /// `{"requests":[…]}`, `{"plan":{…}}` (a multi-step delivery), `{"drop":reason}`, `{"abort":reason}`, `{"batchRow":event}` or
    /// `{"error":…}` for an unknown type or an invalid configuration.
    public static func render(
        type: String, config: JSON, event: JSON, registry: DestinationRegistry = .standard
    ) -> JSON {
        guard let definition = registry.definition(forType: type) else {
            return ["error": .string("unknown destination type \(type)")]
        }
        let mapper: any EventMapper
        do {
            mapper = try definition.makeMapper(config)
        } catch {
            return ["error": .string("invalid config: \(error)")]
        }
        let secrets = secretValues(in: config, keys: Set(definition.secretConfigKeys)).filter { $0.count >= 3 }
        switch definition.transform(event, with: mapper) {
        case .requests(let requests):
            return ["requests": .array(requests.map { masked($0, secrets: secrets).json })]
        case .plan(var plan):
            for index in plan.steps.indices { plan.steps[index].request = masked(plan.steps[index].request, secrets: secrets) }
            return ["plan": plan.json]
        case .batchRow(let row): return ["batchRow": row]
        case .drop(let reason): return ["drop": .string(reason)]
        case .abort(let reason): return ["abort": .string(reason)]
        }
    }

    /// The string values stored under any of `keys`, at any depth of the configuration (Slack's
    /// `channelRules[].webhookUrl` are as secret as its top-level `webhookUrl`).
    static func secretValues(in config: JSON, keys: Set<String>) -> [String] {
        switch config {
        case .object(let object):
            var values: [String] = []
            for (key, value) in object {
                if keys.contains(key), let text = value.stringValue { values.append(text) }
                values += secretValues(in: value, keys: keys)
            }
            return values
        case .array(let items): return items.flatMap { secretValues(in: $0, keys: keys) }
        default: return []
        }
    }

    /// The request with every header value but `Content-Type` masked (webhook headers are often
    /// credentials; `Authorization` keeps its scheme word), and the configuration's secret values
    /// masked wherever they appear in the URL and body.
    public static func masked(_ request: DestinationRequest, secrets: [String]) -> DestinationRequest {
        var copy = request
        copy.url = replacing(secrets, in: request.url)
        copy.headers = request.headers.map { header in
            switch header.name.lowercased() {
            case "content-type": return header
            case "authorization":
                let scheme = header.value.split(separator: " ", maxSplits: 1).first.map(String.init)
                return (header.name, scheme.map { $0 + " " + mask } ?? mask)
            default: return (header.name, mask)
            }
        }
        if !secrets.isEmpty, case .json(let body) = request.body {
            copy.body = .json(maskStrings(body, secrets: secrets))
        }
        if !secrets.isEmpty, case .form(let fields) = request.body {
            copy.body = .form(fields.map { ($0.0, replacing(secrets, in: $0.1)) })
        }
        return copy
    }

    private static func maskStrings(_ value: JSON, secrets: [String]) -> JSON {
        switch value {
        case .string(let text): return .string(replacing(secrets, in: text))
        case .array(let items): return .array(items.map { maskStrings($0, secrets: secrets) })
        case .object(let object):
            var out = JSONObject()
            for (key, item) in object { out[key] = maskStrings(item, secrets: secrets) }
            return .object(out)
        default: return value
        }
    }

    static func replacing(_ secrets: [String], in text: String) -> String {
        var result = text
        for secret in secrets {
            result = result.replacingAll(secret, with: mask)
            let encoded = URLEncoding.component(secret)
            if encoded != secret { result = result.replacingAll(encoded, with: mask) }
        }
        return result
    }
}

extension String {
    /// Every occurrence of `target` replaced, without Foundation.
    func replacingAll(_ target: String, with replacement: String) -> String {
        guard !target.isEmpty else { return self }
        var out = ""
        var rest = Substring(self)
        while let range = rest.firstRange(of: target) {
            out += rest[..<range.lowerBound]
            out += replacement
            rest = rest[range.upperBound...]
        }
        out += rest
        return out
    }
}

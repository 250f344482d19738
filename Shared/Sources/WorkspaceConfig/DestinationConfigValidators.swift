import EventModel

/// The destination types a workspace may use, each with a check of its `config`.
///
/// A type not in the registry is an error. The Destinations module registers its full checks; until
/// then ``builtIn`` accepts the first types with basic checks. Inject your own registry (tests, new
/// types) through ``WorkspaceParser/init(destinationValidators:)``.
///
/// ```swift
/// var validators = DestinationConfigValidators.builtIn
/// validators.register("slack") { config, issues in
///     issues.requireURL(config, "webhookUrl")
/// }
/// ```
public struct DestinationConfigValidators: Sendable {
    /// Checks a destination's `config` object; report problems with paths relative to it (`url`,
    /// `headers.X-Token`).
    public typealias Validate = @Sendable (_ config: JSONObject, _ issues: inout ConfigIssues) -> Void

    private var validators: [String: Validate]

    public init(_ validators: [String: Validate] = [:]) {
        self.validators = validators
    }

    /// Adds or replaces the check for `type`. Use `{ _, _ in }` to accept a type without checks.
    public mutating func register(_ type: String, _ validate: @escaping Validate) {
        validators[type] = validate
    }

    /// The check for `type`, or `nil` when the type is unknown.
    public func validator(for type: String) -> Validate? { validators[type] }

    /// Known type names, sorted.
    public var knownTypes: [String] { validators.keys.sorted() }

    /// webhook, customerio, ga4 with basic checks; s3, local_storage, postgres, snowflake with
    /// ``BatchDestinationRules``.
    public static let builtIn = DestinationConfigValidators([
        "webhook": { config, issues in
            issues.requireURL(config, "url")
            issues.optionalOneOf(config, "method", ["GET", "POST", "PUT", "PATCH", "DELETE"])
            issues.optionalStringMap(config, "headers")
        },
        "customerio": { config, issues in
            issues.requireString(config, "siteId")
            issues.requireString(config, "apiKey")
            issues.optionalOneOf(config, "region", ["us", "eu"])
        },
        "ga4": { config, issues in
            issues.requireString(config, "measurementId")
            issues.requireString(config, "apiSecret")
        },
        // The batch types: the same rules the batch-router applies when it reads the settings.
        "s3": { config, issues in BatchDestinationRules.validate(type: "s3", config: config, issues: &issues) },
        "local_storage": { config, issues in
            BatchDestinationRules.validate(type: "local_storage", config: config, issues: &issues)
        },
        "postgres": { config, issues in BatchDestinationRules.validate(type: "postgres", config: config, issues: &issues) },
        "snowflake": { config, issues in
            BatchDestinationRules.validate(type: "snowflake", config: config, issues: &issues)
        },
    ])
}

extension ConfigIssues {
    /// `config[key]` must be a non-empty string; returns it.
    @discardableResult
    public mutating func requireString(_ config: JSONObject, _ key: String) -> String? {
        guard let value = config[key], value != .null else {
            add(key, "is required")
            return nil
        }
        guard case .string(let text) = value, !text.isEmpty else {
            add(key, "must be a non-empty string")
            return nil
        }
        return text
    }

    /// `config[key]` must be an http(s) URL (or contain a `${…}` reference, checked once resolved).
    public mutating func requireURL(_ config: JSONObject, _ key: String) {
        guard let text = requireString(config, key) else { return }
        checkURL(text, key)
    }

    /// When present, `config[key]` must be an http(s) URL.
    public mutating func optionalURL(_ config: JSONObject, _ key: String) {
        guard let value = config[key], value != .null else { return }
        guard case .string(let text) = value else {
            add(key, "must be a string")
            return
        }
        checkURL(text, key)
    }

    /// When present, `config[key]` must be one of `allowed`.
    public mutating func optionalOneOf(_ config: JSONObject, _ key: String, _ allowed: [String]) {
        guard let value = config[key], value != .null else { return }
        guard case .string(let text) = value, allowed.contains(text) else {
            add(key, "must be one of: \(allowed.joined(separator: ", "))")
            return
        }
    }

    /// When present, `config[key]` must map names to strings (headers, query parameters).
    public mutating func optionalStringMap(_ config: JSONObject, _ key: String) {
        guard let value = config[key], value != .null else { return }
        guard case .object(let object) = value else {
            add(key, "must be a mapping of names to strings")
            return
        }
        for (name, entry) in object {
            if case .string = entry { continue }
            add(ConfigPath.join(key, name), "must be a string")
        }
    }

    private mutating func checkURL(_ text: String, _ key: String) {
        if text.hasPrefix("${") { return }  // the whole URL comes from the environment
        guard URLCheck.isHTTPURL(text) else {
            add(key, "not a URL (expected http:// or https://…)")
            return
        }
    }
}

enum URLCheck {
    /// `http(s)://host…` where host is non-empty (it may be a `${…}` reference).
    static func isHTTPURL(_ text: String) -> Bool {
        let lower = text.lowercased()
        let rest: Substring
        if lower.hasPrefix("http://") {
            rest = text.dropFirst(7)
        } else if lower.hasPrefix("https://") {
            rest = text.dropFirst(8)
        } else {
            return false
        }
        let host = rest.prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        return !host.isEmpty && !host.contains(" ") && !host.hasPrefix(":")
    }
}

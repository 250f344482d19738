import EventModel

/// The checks of the batch destination types' `config` (`s3`, `local_storage`, `postgres`,
/// `snowflake`; keys in docs/batch-router.md and docs/snowflake.md). One set of rules: `keel
/// apply` runs them through ``DestinationConfigValidators/builtIn``, and the batch-router and the
/// Snowflake loader run the same ones when they read a destination's settings (after `${ENV}`
/// resolution), so a workspace that applies is one the batch-router can load.
///
/// Values that are still `${…}` references are not checked beyond being present.
public enum BatchDestinationRules {
    /// The destination types the batch-router handles.
    public static let types: Set<String> = ["s3", "local_storage", "postgres", "snowflake"]

    /// Records the problems of a `type` destination's `config` in `issues` (paths relative to the
    /// config object; messages name the key, never its value).
    public static func validate(type: String, config: JSONObject, issues: inout ConfigIssues) {
        switch type {
        case "s3":
            issues.requireString(config, "bucket")
            issues.optionalURL(config, "endpoint")
            if config["accessKeyId"] != nil || config["secretAccessKey"] != nil {
                issues.requireString(config, "accessKeyId")
                issues.requireString(config, "secretAccessKey")
            }
            optionalBool(config, "pathStyle", &issues)
        case "local_storage":
            issues.requireString(config, "path")
        case "postgres":
            for key in ["host", "database", "user"] { issues.requireString(config, key) }
            if let port = config["port"], port.intValue == nil, port.stringValue.flatMap({ Int($0) }) == nil,
                !isReference(port)
            {
                issues.add("port", "must be a port number")
            }
            if let schema = config["schema"]?.stringValue, !isReference(.string(schema)), !isLowerIdentifier(schema) {
                issues.add("schema", "must be lower-case letters, digits and _")
            }
            if let mode = config["sslMode"], !isReference(mode) {
                issues.optionalOneOf(config, "sslMode", ["disable", "prefer", "require"])
            }
        case "snowflake":
            validateSnowflake(config, &issues)
        default:
            issues.add("type", "is not a batch destination type")
        }
        if let value = config["uploadInterval"], value.stringValue.flatMap(parseInterval) == nil, !isReference(value) {
            issues.add("uploadInterval", "must be a duration such as 30s, 5m, 30m or 3h")
        }
    }

    /// `10s`, `5m`, `30m`, `3h`, or a bare number of minutes (RudderStack's upload frequency).
    public static func parseInterval(_ text: String) -> Duration? {
        var number = Substring(text)
        while number.first == " " { number = number.dropFirst() }
        while number.last == " " { number = number.dropLast() }
        guard let last = number.last else { return nil }
        let unit: Int64
        switch last {
        case "s": unit = 1; number = number.dropLast()
        case "m": unit = 60; number = number.dropLast()
        case "h": unit = 3600; number = number.dropLast()
        default: unit = 60
        }
        guard let value = Int64(number), value > 0, value <= Int64.max / 3600 else { return nil }
        return .seconds(value * unit)
    }

    /// A `type: snowflake` destination (docs/snowflake.md): Keel uploads the staged files to S3
    /// itself, so it needs the bucket and keys whatever Snowflake reads them with.
    static func validateSnowflake(_ config: JSONObject, _ issues: inout ConfigIssues) {
        func text(_ key: String) -> String? { config[key]?.stringValue }
        for key in ["account", "user", "privateKey", "warehouse", "database", "schema", "bucket"] where (text(key) ?? "").isEmpty {
            issues.add(key, "is required")
        }
        if text("storageIntegration") != nil, text("stage") != nil {
            issues.add("stage", "set either stage or storageIntegration, not both")
        }
        for key in ["accessKeyId", "secretAccessKey"] where (text(key) ?? "").isEmpty {
            issues.add(key, "is required (Keel uploads the staged files)")
        }
        for key in ["storageIntegration", "stage", "warehouse", "database", "schema", "role"] {
            if let value = text(key), !value.hasPrefix("${"), !isObjectName(value, allowDots: key == "stage") {
                issues.add(key, "must be letters, digits, _ and $")
            }
        }
        if let key = text("privateKey"), !key.hasPrefix("${"), !key.contains("PRIVATE KEY-----") {
            issues.add("privateKey", "must be an RSA private key in PEM form")
        }
        if let url = text("url"), !url.hasPrefix("${"), !(url.hasPrefix("https://") || url.hasPrefix("http://")) {
            issues.add("url", "must be an http(s) URL")
        }
        issues.optionalURL(config, "endpoint")
        optionalBool(config, "pathStyle", &issues)
    }

    /// A Snowflake object name: letters, digits, `_` and `$` (and `.` between the parts of a
    /// qualified stage name).
    public static func isObjectName(_ text: String, allowDots: Bool) -> Bool {
        !text.isEmpty && text.utf8.count <= 255
            && text.utf8.allSatisfy { byte in
                (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
                    || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || byte == UInt8(ascii: "_")
                    || byte == UInt8(ascii: "$") || (allowDots && byte == UInt8(ascii: "."))
            }
    }

    private static func optionalBool(_ config: JSONObject, _ key: String, _ issues: inout ConfigIssues) {
        guard let value = config[key], value != .null, value.boolValue == nil, !isReference(value) else { return }
        issues.add(key, "must be true or false")
    }

    private static func isReference(_ value: JSON) -> Bool {
        value.stringValue?.hasPrefix("${") ?? false
    }

    private static func isLowerIdentifier(_ text: String) -> Bool {
        !text.isEmpty && text.utf8.count <= 63
            && text.utf8.allSatisfy {
                (UInt8(ascii: "a")...UInt8(ascii: "z")).contains($0) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0)
                    || $0 == UInt8(ascii: "_")
            }
    }
}

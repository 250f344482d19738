import Foundation
import EventModel
import ObjectStorage

/// A `type: snowflake` destination's `config` whose settings cannot work: names the key, never
/// its value.
public struct SnowflakeSettingsError: Error, Sendable, Equatable, CustomStringConvertible {
    public var key: String
    public var reason: String
    public var description: String { "\(key): \(reason)" }
}

extension SnowflakeConfiguration {
    /// The problems of a destination's `config` (before or after `${ENV}` resolution; values that
    /// are still `${…}` references are not checked further). Empty when it can work.
    public static func validate(_ config: JSONObject) -> [SnowflakeSettingsError] {
        var issues: [SnowflakeSettingsError] = []
        func text(_ key: String) -> String? { config[key]?.stringValue }
        for key in ["account", "user", "privateKey", "warehouse", "database", "schema", "bucket"] {
            if (text(key) ?? "").isEmpty { issues.append(.init(key: key, reason: "is required")) }
        }
        let integration = text("storageIntegration"), stage = text("stage")
        if integration != nil, stage != nil {
            issues.append(.init(key: "stage", reason: "set either stage or storageIntegration, not both"))
        }
        // Keel uploads the staged files itself, so it needs keys whatever Snowflake reads with.
        for key in ["accessKeyId", "secretAccessKey"] where (text(key) ?? "").isEmpty {
            issues.append(.init(key: key, reason: "is required (Keel uploads the staged files)"))
        }
        for key in ["storageIntegration", "stage", "warehouse", "database", "schema", "role"] {
            if let value = text(key), !value.hasPrefix("${"), !isObjectName(value, allowDots: key == "stage") {
                issues.append(.init(key: key, reason: "must be letters, digits, _ and $"))
            }
        }
        if let key = text("privateKey"), !key.hasPrefix("${"), !key.contains("PRIVATE KEY-----") {
            issues.append(.init(key: "privateKey", reason: "must be an RSA private key in PEM form"))
        }
        if let url = text("url"), !url.hasPrefix("${"), !(url.hasPrefix("https://") || url.hasPrefix("http://")) {
            issues.append(.init(key: "url", reason: "must be an http(s) URL"))
        }
        return issues
    }

    /// Reads a destination's `config` after `${ENV}` resolution. A private key whose line breaks
    /// arrived as literal `\n` (common in environment variables) is accepted.
    public init(settings config: JSONObject) throws(SnowflakeSettingsError) {
        if let first = Self.validate(config).first { throw first }
        func text(_ key: String) -> String? {
            guard let value = config[key]?.stringValue, !value.isEmpty else { return nil }
            return value
        }
        var key = text("privateKey")!
        if !key.contains("\n") { key = key.replacingOccurrences(of: "\\n", with: "\n") }
        let access: StageAccess =
            text("stage").map(StageAccess.namedStage) ?? text("storageIntegration").map(StageAccess.storageIntegration) ?? .credentials
        self.init(
            account: text("account")!, user: text("user")!, privateKeyPEM: key, warehouse: text("warehouse")!,
            database: text("database")!, schema: text("schema")!, role: text("role"), baseURL: text("url"),
            s3: S3Configuration(
                bucket: text("bucket")!, region: text("region") ?? "us-east-1", endpoint: text("endpoint"),
                pathStyle: config["pathStyle"]?.boolValue, accessKeyId: text("accessKeyId")!,
                secretAccessKey: text("secretAccessKey")!, sessionToken: text("sessionToken")),
            prefix: text("prefix") ?? "", stageAccess: access)
    }

    static func isObjectName(_ text: String, allowDots: Bool) -> Bool {
        !text.isEmpty && text.utf8.count <= 255
            && text.utf8.allSatisfy { byte in
                (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
                    || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || byte == UInt8(ascii: "_")
                    || byte == UInt8(ascii: "$") || (allowDots && byte == UInt8(ascii: "."))
            }
    }
}

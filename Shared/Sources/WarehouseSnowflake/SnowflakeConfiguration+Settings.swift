import Foundation
import EventModel
import ObjectStorage
import WorkspaceConfig

/// A `type: snowflake` destination's `config` whose settings cannot work: names the key, never
/// its value.
public struct SnowflakeSettingsError: Error, Sendable, Equatable, CustomStringConvertible {
    public var key: String
    public var reason: String
    public var description: String { "\(key): \(reason)" }
}

extension SnowflakeConfiguration {
    /// The problems of a destination's `config` (before or after `${ENV}` resolution; values that
    /// are still `${…}` references are not checked further). Empty when it can work. These are
    /// WorkspaceConfig's ``BatchDestinationRules``, the checks `keel apply` runs.
    public static func validate(_ config: JSONObject) -> [SnowflakeSettingsError] {
        var issues = ConfigIssues(basePath: "")
        BatchDestinationRules.validate(type: "snowflake", config: config, issues: &issues)
        return issues.all.map { SnowflakeSettingsError(key: $0.path, reason: $0.message) }
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

}

import EventModel
import Foundation
import ObjectStorage
import Storage
import WarehousePostgres
import WarehouseSnowflake
import WorkspaceConfig

/// A batch destination's settings, read from its workspace `config` with `${ENV}` secrets
/// resolved. The keys are documented in docs/batch-router.md.
public struct BatchDestination: Sendable, Equatable {
    /// Where a destination's rows go.
    public enum Target: Sendable, Equatable {
        /// `type: s3`: gzip NDJSON files in a bucket under `prefix`.
        case s3(S3Target)
        /// `type: local_storage`: gzip NDJSON files in a directory.
        case localStorage(path: String, prefix: String)
        /// `type: postgres`: tables in a Postgres schema.
        case postgres(PostgresWarehouseConfiguration)
        /// `type: snowflake`: tables in a Snowflake schema, staged through S3 (docs/snowflake.md).
        case snowflake(SnowflakeConfiguration)
    }

    public struct S3Target: Sendable, Equatable {
        public var bucket: String
        public var prefix: String
        public var region: String
        public var endpoint: String?
        public var pathStyle: Bool?
        public var accessKeyId: String
        public var secretAccessKey: String

        public var configuration: S3Configuration {
            S3Configuration(
                bucket: bucket, region: region, endpoint: endpoint, pathStyle: pathStyle, accessKeyId: accessKeyId,
                secretAccessKey: secretAccessKey)
        }
    }

    public var id: String
    public var type: String
    public var target: Target
    /// How long rows wait before they are flushed (`uploadInterval`). Default 30 minutes for
    /// warehouses, 5 minutes for object storage.
    public var uploadInterval: Duration

    /// Whether rows are loaded into a warehouse (else written as files).
    public var isWarehouse: Bool { type != "s3" && type != "local_storage" }

    public init(id: String, type: String, target: Target, uploadInterval: Duration) {
        self.id = id
        self.type = type
        self.target = target
        self.uploadInterval = uploadInterval
    }

    /// The destination types the batch-router handles.
    public static let types: Set<String> = BatchDestinationRules.types

    /// Reads `destination`'s settings; `secrets` resolves `${ENV}` references.
    public init(_ destination: Destination, secrets: SecretResolver) throws(BatchDestinationError) {
        guard case .object(let raw) = destination.config else {
            throw BatchDestinationError(key: "config", reason: "must be a mapping")
        }
        let config = try Self.resolved(raw, secrets: secrets)
        var issues = ConfigIssues(basePath: "")
        Self.validate(type: destination.type, config: config, issues: &issues)
        if let first = issues.all.first {
            throw BatchDestinationError(key: first.path, reason: first.message)
        }
        id = destination.id
        type = destination.type
        let interval = config["uploadInterval"]?.stringValue.flatMap(Self.parseInterval)
        switch destination.type {
        case "s3":
            target = .s3(S3Target(
                bucket: config["bucket"]!.stringValue!, prefix: Self.trimmedPrefix(config["prefix"]?.stringValue),
                region: config["region"]?.stringValue ?? "us-east-1", endpoint: config["endpoint"]?.stringValue,
                pathStyle: config["pathStyle"]?.boolValue, accessKeyId: config["accessKeyId"]?.stringValue ?? "",
                secretAccessKey: config["secretAccessKey"]?.stringValue ?? ""))
            uploadInterval = interval ?? .seconds(5 * 60)
        case "local_storage":
            target = .localStorage(
                path: config["path"]!.stringValue!, prefix: Self.trimmedPrefix(config["prefix"]?.stringValue))
            uploadInterval = interval ?? .seconds(5 * 60)
        case "snowflake":
            do throws(SnowflakeSettingsError) {
                target = .snowflake(try SnowflakeConfiguration(settings: config))
            } catch {
                throw BatchDestinationError(key: error.key, reason: error.reason)
            }
            uploadInterval = interval ?? .seconds(30 * 60)
        default:
            let port = config["port"].flatMap { $0.intValue ?? $0.stringValue.flatMap { Int64($0) } } ?? 5432
            var tls: DatabaseConfiguration.TLSMode?
            if let mode = config["sslMode"]?.stringValue {
                tls = mode == "disable" ? .disable : mode == "require" ? .require : .prefer
            }
            let server = DatabaseConfiguration(
                host: config["host"]!.stringValue!, port: Int(port), username: config["user"]!.stringValue!,
                password: config["password"]?.stringValue, database: config["database"]!.stringValue!, tls: tls)
            target = .postgres(PostgresWarehouseConfiguration(server: server, schema: config["schema"]?.stringValue ?? "keel"))
            uploadInterval = interval ?? .seconds(30 * 60)
        }
    }

    /// The checks of the batch types' settings: ``BatchDestinationRules``, the same ones `keel
    /// apply` runs.
    public static func validate(type: String, config: JSONObject, issues: inout ConfigIssues) {
        BatchDestinationRules.validate(type: type, config: config, issues: &issues)
    }

    /// `10s`, `5m`, `30m`, `3h`, or a bare number of minutes (RudderStack's upload frequency).
    public static func parseInterval(_ text: String) -> Duration? {
        BatchDestinationRules.parseInterval(text)
    }

    private static func trimmedPrefix(_ prefix: String?) -> String {
        var text = Substring(prefix ?? "")
        while text.hasPrefix("/") { text = text.dropFirst() }
        while text.hasSuffix("/") { text = text.dropLast() }
        return String(text)
    }

    private static func resolved(_ config: JSONObject, secrets: SecretResolver) throws(BatchDestinationError) -> JSONObject {
        do throws(SecretResolutionError) {
            guard case .object(let object) = try secrets.resolve(.object(config), at: "config") else { return config }
            return object
        } catch {
            // Names the variable, never a value.
            throw BatchDestinationError(key: error.path, reason: "environment variable \(error.variable) is not set")
        }
    }
}

/// A batch destination whose settings cannot work; names the key, never its value.
public struct BatchDestinationError: Error, Sendable, Equatable, CustomStringConvertible {
    public var key: String
    public var reason: String
    public var description: String { "\(key): \(reason)" }
}

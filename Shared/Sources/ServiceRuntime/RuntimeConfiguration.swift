public import Logging

/// What every Keel process needs to know before it starts, whatever the service.
///
/// The defaults are the ones documented in docs/architecture.md ("Environment variables"); reading
/// them from the environment lives in `RuntimeConfiguration+Environment.swift`, and nothing below
/// `main` reads the environment.
public struct RuntimeConfiguration: Sendable, Equatable {
    /// Which service this process is; names the logs and picks the default admin port.
    public var service: KeelService
    /// Bind address of the admin HTTP server. Default `0.0.0.0` (probes come from outside in Kubernetes).
    public var adminHost: String
    /// Port of the admin HTTP server. Default `service.defaultAdminPort` (9181…9186). `0` picks a free port.
    public var adminPort: Int
    /// Minimum level written to the log. Default `.info`.
    public var logLevel: Logger.Level
    /// Log line format. Default `.json`.
    public var logFormat: LogFormat
    /// Postgres URL for configuration and service state. Default `postgres://keel@127.0.0.1:5432/keel`.
    /// May hold a password: never log it (see ``redactedDatabaseURL``).
    public var databaseURL: String
    /// Kafka bootstrap servers, comma separated, as librdkafka's `bootstrap.servers`. Default `127.0.0.1:9092`.
    public var kafkaBrokers: String
    /// Prefix of every topic name. Default `keel.`.
    public var topicPrefix: String
    /// Partition count used when a service creates a missing topic. Default 6.
    public var topicPartitions: Int
    /// The stored workspace this process serves; `nil` (the default) means the only one stored.
    public var workspace: String?
    /// Extra librdkafka properties for this process's consumers (`KEEL_KAFKA_CONSUMER_PROPERTIES`),
    /// e.g. security settings, or `fetch.wait.max.ms` for the development broker. Default none.
    /// Values may be secrets (`sasl.password`): never log them.
    public var kafkaConsumerProperties: [String: String] = [:]
    /// Extra librdkafka properties for this process's producers (`KEEL_KAFKA_PRODUCER_PROPERTIES`).
    public var kafkaProducerProperties: [String: String] = [:]

    public static let defaultAdminHost = "0.0.0.0"
    public static let defaultDatabaseURL = "postgres://keel@127.0.0.1:5432/keel"
    public static let defaultKafkaBrokers = "127.0.0.1:9092"
    public static let defaultTopicPrefix = "keel."
    public static let defaultTopicPartitions = 6

    /// A configuration with every documented default for `service`.
    public init(
        service: KeelService,
        adminHost: String = Self.defaultAdminHost,
        adminPort: Int? = nil,
        logLevel: Logger.Level = .info,
        logFormat: LogFormat = .json,
        databaseURL: String = Self.defaultDatabaseURL,
        kafkaBrokers: String = Self.defaultKafkaBrokers,
        topicPrefix: String = Self.defaultTopicPrefix,
        topicPartitions: Int = Self.defaultTopicPartitions,
        workspace: String? = nil
    ) {
        self.service = service
        self.adminHost = adminHost
        self.adminPort = adminPort ?? service.defaultAdminPort
        self.logLevel = logLevel
        self.logFormat = logFormat
        self.databaseURL = databaseURL
        self.kafkaBrokers = kafkaBrokers
        self.topicPrefix = topicPrefix
        self.topicPartitions = topicPartitions
        self.workspace = workspace
    }

    /// ``databaseURL`` with any password replaced by `***`, safe for logs.
    public var redactedDatabaseURL: String {
        redactingPassword(in: self.databaseURL)
    }
}

/// How log lines are written.
public enum LogFormat: String, Sendable, CaseIterable {
    /// One JSON object per line: for log collectors.
    case json
    /// `timestamp level service: message key=value`: for people reading a terminal.
    case text
}

/// Replaces the password of a `scheme://user:password@host/...` URL with `***`.
func redactingPassword(in url: String) -> String {
    guard let schemeEnd = url.firstRange(of: "://") else { return url }
    let afterScheme = url[schemeEnd.upperBound...]
    let authorityEnd = afterScheme.firstIndex(where: { $0 == "/" || $0 == "?" }) ?? afterScheme.endIndex
    let authority = afterScheme[..<authorityEnd]
    guard let at = authority.lastIndex(of: "@"),
        let colon = authority[..<at].firstIndex(of: ":")
    else { return url }
    return String(url[..<authority.index(after: colon)]) + "***" + String(url[at...])
}

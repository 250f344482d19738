#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Logging

extension RuntimeConfiguration {
    /// Reads the variables of docs/architecture.md ("Environment variables (every service)");
    /// a variable that is unset or empty keeps its default.
    ///
    /// - Parameters:
    ///   - service: the service this process is.
    ///   - environment: the variables to read; ``ProcessEnvironment/current()`` in `main`.
    /// - Throws: ``ConfigurationError`` naming the variable when a value is malformed.
    public init(service: KeelService, environment: [String: String]) throws {
        func value(_ name: String) -> String? {
            guard let raw = environment[name]?.trimmingSpaces, !raw.isEmpty else { return nil }
            return raw
        }
        self.init(service: service)
        if let host = value("KEEL_ADMIN_HOST") { self.adminHost = host }
        if let port = value("KEEL_ADMIN_PORT") {
            guard let number = Int(port), (0...65535).contains(number) else {
                throw ConfigurationError(variable: "KEEL_ADMIN_PORT", expected: "a port number 0-65535", got: port)
            }
            self.adminPort = number
        }
        if let level = value("KEEL_LOG_LEVEL") {
            guard let parsed = Logger.Level(keelName: level) else {
                throw ConfigurationError(
                    variable: "KEEL_LOG_LEVEL",
                    expected: "one of trace, debug, info, notice, warning, error, critical",
                    got: level
                )
            }
            self.logLevel = parsed
        }
        if let format = value("KEEL_LOG_FORMAT") {
            guard let parsed = LogFormat(rawValue: format.lowercased()) else {
                throw ConfigurationError(variable: "KEEL_LOG_FORMAT", expected: "json or text", got: format)
            }
            self.logFormat = parsed
        }
        if let url = value("KEEL_DATABASE_URL") {
            guard url.hasPrefix("postgres://") || url.hasPrefix("postgresql://") else {
                // The value may hold a password: do not echo it.
                throw ConfigurationError(
                    variable: "KEEL_DATABASE_URL",
                    expected: "a postgres:// or postgresql:// URL",
                    got: nil
                )
            }
            self.databaseURL = url
        }
        if let brokers = value("KAFKA_BROKERS") { self.kafkaBrokers = brokers }
        if let prefix = environment["KEEL_TOPIC_PREFIX"] {
            // An empty prefix is a legitimate choice (bare topic names), unlike the other variables.
            self.topicPrefix = prefix
        }
        if let partitions = value("KEEL_TOPIC_PARTITIONS") {
            guard let number = Int(partitions), number > 0 else {
                throw ConfigurationError(
                    variable: "KEEL_TOPIC_PARTITIONS",
                    expected: "a positive integer",
                    got: partitions
                )
            }
            self.topicPartitions = number
        }
        if let workspace = value("KEEL_WORKSPACE") { self.workspace = workspace }
        if let properties = value("KEEL_KAFKA_CONSUMER_PROPERTIES") {
            self.kafkaConsumerProperties = try Self.kafkaProperties(properties, variable: "KEEL_KAFKA_CONSUMER_PROPERTIES")
        }
        if let properties = value("KEEL_KAFKA_PRODUCER_PROPERTIES") {
            self.kafkaProducerProperties = try Self.kafkaProperties(properties, variable: "KEEL_KAFKA_PRODUCER_PROPERTIES")
        }
    }

    /// Parses `name=value,name=value` (librdkafka property names: lowercase letters, digits, `.`,
    /// `_`). The error never repeats a value: it may be a password.
    static func kafkaProperties(_ text: String, variable: String) throws -> [String: String] {
        var properties: [String: String] = [:]
        for entry in text.split(separator: ",") {
            let parts = entry.split(separator: "=", maxSplits: 1)
            let name = parts.first.map { String($0).trimmingSpaces } ?? ""
            guard parts.count == 2, !name.isEmpty,
                name.allSatisfy({ $0.isASCII && ($0.isLowercase || $0.isNumber || $0 == "." || $0 == "_") })
            else {
                throw ConfigurationError(
                    variable: variable, expected: "name=value pairs separated by commas (librdkafka property names)", got: nil)
            }
            properties[name] = String(parts[1]).trimmingSpaces
        }
        return properties
    }
}

/// A malformed configuration value. The description names the variable and is safe to print.
public struct ConfigurationError: Error, CustomStringConvertible, Equatable {
    /// The environment variable at fault.
    public var variable: String
    /// What a valid value looks like.
    public var expected: String
    /// The rejected value, or `nil` when it must not be shown (it may hold a secret).
    public var got: String?

    public init(variable: String, expected: String, got: String?) {
        self.variable = variable
        self.expected = expected
        self.got = got
    }

    public var description: String {
        if let got { return "\(variable): expected \(expected), got '\(got)'" }
        return "\(variable): expected \(expected)"
    }
}

/// The environment of this process, for `main` to hand to configuration readers.
public enum ProcessEnvironment {
    /// A snapshot of the process environment as a dictionary.
    public static func current() -> [String: String] {
        var result: [String: String] = [:]
        var cursor = environ
        while let entry = cursor.pointee {
            let pair = String(cString: entry)
            if let equals = pair.firstIndex(of: "=") {
                result[String(pair[..<equals])] = String(pair[pair.index(after: equals)...])
            }
            cursor += 1
        }
        return result
    }
}

extension Logger.Level {
    /// Parses the level names of `KEEL_LOG_LEVEL`, case-insensitively, accepting `warn` for `warning`.
    init?(keelName: String) {
        let name = keelName.lowercased()
        if name == "warn" {
            self = .warning
        } else {
            self.init(rawValue: name)
        }
    }
}

extension String {
    var trimmingSpaces: String {
        var slice = Substring(self)
        while let first = slice.first, first.isWhitespace { slice.removeFirst() }
        while let last = slice.last, last.isWhitespace { slice.removeLast() }
        return String(slice)
    }
}

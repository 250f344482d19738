import Foundation
import PostgresNIO

/// Where and how to reach Postgres. Built from a `postgres://user:pass@host:port/db?sslmode=…` URL.
///
/// Its `description` masks the password, so the value can be logged.
public struct DatabaseConfiguration: Sendable, Hashable, CustomStringConvertible {
    /// TLS policy, named after libpq's `sslmode`.
    public enum TLSMode: String, Sendable, Hashable {
        /// Plain TCP (`sslmode=disable`). The default for loopback hosts.
        case disable
        /// TLS when the server offers it (`sslmode=prefer`, `allow`). The default for other hosts.
        case prefer
        /// TLS or fail (`sslmode=require`, `verify-ca`, `verify-full`).
        case require
    }

    /// Server host name or IP address. Default `127.0.0.1`.
    public var host: String
    /// Server port. Default `5432`.
    public var port: Int
    /// Role to log in as. Default `keel`.
    public var username: String
    /// Password, if any. Never printed.
    public var password: String?
    /// Database name. Default: the user name.
    public var database: String
    /// TLS policy. Default: `disable` for loopback hosts, else `prefer`.
    public var tls: TLSMode
    /// Upper bound on pooled connections of this process. Default 20 (`?max_connections=` in the URL).
    public var maximumConnections: Int
    /// Timeout for opening one connection. Default 10 s (`?connect_timeout=` seconds in the URL).
    public var connectTimeout: Duration

    /// The default used when `KEEL_DATABASE_URL` is not set.
    public static let defaultURL = "postgres://keel@127.0.0.1:5432/keel"

    public init(
        host: String = "127.0.0.1",
        port: Int = 5432,
        username: String = "keel",
        password: String? = nil,
        database: String? = nil,
        tls: TLSMode? = nil,
        maximumConnections: Int = 20,
        connectTimeout: Duration = .seconds(10)
    ) {
        self.host = host
        self.port = port
        self.username = username
        self.password = password
        self.database = database ?? username
        self.tls = tls ?? (Self.isLoopback(host) ? .disable : .prefer)
        self.maximumConnections = maximumConnections
        self.connectTimeout = connectTimeout
    }

    /// Parses `postgres://` or `postgresql://` URLs. Errors never echo the URL (it may hold a password).
    public init(url: String) throws {
        guard let components = URLComponents(string: url),
            let scheme = components.scheme?.lowercased(),
            scheme == "postgres" || scheme == "postgresql"
        else {
            throw StorageError(.invalidURL, "database URL must look like postgres://user:password@host:port/database")
        }
        guard let host = components.host, !host.isEmpty else {
            throw StorageError(.invalidURL, "database URL has no host")
        }
        let username = components.user.flatMap { $0.removingPercentEncoding ?? $0 } ?? "keel"
        let password = components.password.flatMap { $0.removingPercentEncoding ?? $0 }
        var path = components.path
        if path.hasPrefix("/") { path.removeFirst() }
        let database = path.isEmpty ? nil : (path.removingPercentEncoding ?? path)

        var tls: TLSMode?
        var maximumConnections = 20
        var connectTimeout = Duration.seconds(10)
        for item in components.queryItems ?? [] {
            let value = item.value ?? ""
            switch item.name {
            case "sslmode":
                switch value {
                case "disable": tls = .disable
                case "allow", "prefer": tls = .prefer
                case "require", "verify-ca", "verify-full": tls = .require
                default: throw StorageError(.invalidURL, "unknown sslmode \"\(value)\" in database URL")
                }
            case "max_connections":
                guard let number = Int(value), number > 0 else {
                    throw StorageError(.invalidURL, "max_connections in database URL must be a positive integer")
                }
                maximumConnections = number
            case "connect_timeout":
                guard let seconds = Int(value), seconds > 0 else {
                    throw StorageError(.invalidURL, "connect_timeout in database URL must be a positive integer")
                }
                connectTimeout = .seconds(seconds)
            default:
                break  // other libpq parameters (application_name, …) are accepted and ignored
            }
        }
        self.init(
            host: host,
            port: components.port ?? 5432,
            username: username,
            password: password,
            database: database,
            tls: tls,
            maximumConnections: maximumConnections,
            connectTimeout: connectTimeout
        )
    }

    /// The same server and credentials, another database.
    public func withDatabase(_ name: String) -> DatabaseConfiguration {
        var copy = self
        copy.database = name
        return copy
    }

    /// The URL form, password included. Do not log it; use `description` for logs.
    public var url: String { makeURL(maskPassword: false) }

    /// The URL with the password replaced by `***`.
    public var description: String { makeURL(maskPassword: true) }

    private func makeURL(maskPassword: Bool) -> String {
        var components = URLComponents()
        components.scheme = "postgres"
        components.host = host
        components.port = port
        components.user = username
        if let password {
            components.password = maskPassword ? "***" : password
        }
        components.path = "/" + database
        components.queryItems = [URLQueryItem(name: "sslmode", value: tls.rawValue)]
        return components.string ?? "postgres://\(host):\(port)/\(database)"
    }

    /// postgres-nio's configuration for this server.
    public var clientConfiguration: PostgresClient.Configuration {
        let tlsConfiguration: PostgresClient.Configuration.TLS
        switch tls {
        case .disable: tlsConfiguration = .disable
        case .prefer: tlsConfiguration = .prefer(.makeClientConfiguration())
        case .require: tlsConfiguration = .require(.makeClientConfiguration())
        }
        var configuration = PostgresClient.Configuration(
            host: host,
            port: port,
            username: username,
            password: password,
            database: database,
            tls: tlsConfiguration
        )
        configuration.options.maximumConnections = maximumConnections
        configuration.options.connectTimeout = connectTimeout
        return configuration
    }

    private static func isLoopback(_ host: String) -> Bool {
        host == "localhost" || host == "::1" || host.hasPrefix("127.")
    }
}

import Storage

/// Where a `type: postgres` warehouse destination loads: its server, credentials and schema.
///
/// `description` never shows the password.
public struct PostgresWarehouseConfiguration: Sendable, Hashable, CustomStringConvertible {
    /// The server (host, port, user, password, database, TLS mode).
    public var server: DatabaseConfiguration
    /// The schema tables are created in. Default `keel`.
    public var schema: String

    public init(server: DatabaseConfiguration, schema: String = "keel") {
        self.server = server
        self.schema = schema
    }

    /// `postgres://user@host:port/db` and the schema, for load history and logs.
    public var location: String {
        "postgres://\(server.username)@\(server.host):\(server.port)/\(server.database)?schema=\(schema)"
    }

    public var description: String { location }
}

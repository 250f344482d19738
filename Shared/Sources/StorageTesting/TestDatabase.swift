import Foundation
import Logging
import PostgresNIO
import Storage
import XCTest

/// A fresh, empty database on the test server, for one test.
///
/// Reads `KEEL_TEST_DATABASE_URL` (an admin URL to a server where the test may `CREATE DATABASE`). When
/// it is missing the test is skipped, unless `KEEL_REQUIRE_SERVICES=1`, where it fails.
///
/// ```swift
/// let testDatabase = try await TestDatabase.make(logger: logger)
/// defer { Task { try? await testDatabase.drop() } }   // or: try await testDatabase.drop() at the end
/// try await testDatabase.database.migrate(schema: "router", migrations: …, logger: logger)
/// ```
public final class TestDatabase: Sendable {
    /// The random database name (`keel_test_…`).
    public let name: String
    /// Configuration of the new database (the admin URL with the database name replaced).
    public let configuration: DatabaseConfiguration
    /// A running client on the new database.
    public let database: Database
    /// The admin server the database was created on.
    public let adminConfiguration: DatabaseConfiguration
    private let runTask: Task<Void, Never>
    private let logger: Logger

    /// The new database's URL (contains the password, if any: do not log it).
    public var url: String { configuration.url }

    private init(name: String, admin: DatabaseConfiguration, logger: Logger) {
        self.name = name
        self.adminConfiguration = admin
        self.configuration = admin.withDatabase(name)
        self.logger = logger
        let database = Database(configuration: configuration, logger: logger)
        self.database = database
        self.runTask = Task { await database.client.run() }
    }

    /// The admin configuration from the environment, or a skip/failure when it is not set.
    public static func adminConfiguration(
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws -> DatabaseConfiguration {
        guard let url = environment["KEEL_TEST_DATABASE_URL"], !url.isEmpty else {
            if environment["KEEL_REQUIRE_SERVICES"] == "1" {
                throw StorageError(
                    .missingTestDatabase, "KEEL_TEST_DATABASE_URL is not set and KEEL_REQUIRE_SERVICES=1")
            }
            throw XCTSkip("KEEL_TEST_DATABASE_URL is not set: start one with deploy/local/pg")
        }
        return try DatabaseConfiguration(url: url)
    }

    /// Creates a database with a random name and returns it with a running client.
    public static func make(
        logger: Logger = Logger(label: "keel.test-database"),
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) async throws -> TestDatabase {
        let admin = try adminConfiguration(environment: environment)
        let name = "keel_test_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(16).lowercased()
        try await Database.withDatabase(configuration: admin, logger: logger) { server in
            try await server.client.query(
                PostgresQuery(unsafeSQL: "CREATE DATABASE \(SQLIdentifier.quoted(name))"), logger: logger)
        }
        return TestDatabase(name: name, admin: admin, logger: logger)
    }

    /// Another client on the same database (for tests that need a second process's view).
    public func makeDatabase() -> Database {
        Database(configuration: configuration, logger: logger)
    }

    /// Stops the client and drops the database, disconnecting any remaining sessions.
    public func drop() async throws {
        runTask.cancel()
        await runTask.value
        let name = self.name
        let logger = self.logger
        try await Database.withDatabase(configuration: adminConfiguration, logger: logger) { server in
            try await server.client.query(
                PostgresQuery(unsafeSQL: "DROP DATABASE IF EXISTS \(SQLIdentifier.quoted(name)) WITH (FORCE)"),
                logger: logger)
        }
    }
}

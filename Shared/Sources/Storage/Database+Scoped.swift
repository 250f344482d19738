import Logging

extension Database {
    /// Creates a database, runs its pool for the closure's lifetime, then shuts the pool down.
    ///
    /// For short-lived programs (the `keel` CLI, tests); long-running services put the ``Database`` in
    /// their `ServiceGroup` instead.
    public static func withDatabase<Result: Sendable>(
        configuration: DatabaseConfiguration,
        logger: Logger,
        _ body: @Sendable (Database) async throws -> Result
    ) async throws -> Result {
        let database = Database(configuration: configuration, logger: logger)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await database.client.run() }
            defer { group.cancelAll() }
            return try await body(database)
        }
    }
}

import AsyncSignals
import Logging
import PostgresNIO
import ServiceLifecycle

/// The process's handle on Postgres: one postgres-nio `PostgresClient` (a connection pool).
///
/// It is a `Service`: add it to the process's `ServiceGroup` before anything that queries, because the
/// client can lease connections only while ``run()`` is running.
///
/// ```swift
/// let database = Database(configuration: try DatabaseConfiguration(environment: env), logger: logger)
/// try await database.withTransaction(logger: logger) { connection in
///     try await connection.query("INSERT …", logger: logger)
/// }
/// ```
public final class Database: Service, Sendable {
    /// The server this database talks to.
    public let configuration: DatabaseConfiguration
    /// The underlying pool, for APIs this type does not wrap.
    public let client: PostgresClient

    public init(configuration: DatabaseConfiguration, logger: Logger) {
        self.configuration = configuration
        self.client = PostgresClient(configuration: configuration.clientConfiguration, backgroundLogger: logger)
    }

    /// Runs the connection pool until the task is cancelled or the service group shuts down.
    public func run() async throws {
        await cancelWhenGracefulShutdown {
            await self.client.run()
        }
    }

    /// Leases a connection for the closure's lifetime. The closure must not keep the connection.
    public func withConnection<Result>(
        isolation: isolated (any Actor)? = #isolation,
        _ body: (PostgresConnection) async throws -> sending Result
    ) async throws -> sending Result {
        try await client.withConnection(isolation: isolation, body)
    }

    /// Runs the closure inside `BEGIN … COMMIT` on one leased connection; rolls back when it throws.
    public func withTransaction<Result>(
        logger: Logger,
        isolation: isolated (any Actor)? = #isolation,
        _ body: (PostgresConnection) async throws -> sending Result
    ) async throws -> sending Result {
        try await client.withTransaction(logger: logger, isolation: isolation, body)
    }

    /// Whether `SELECT 1` succeeds within `timeout`. For readiness probes; never throws.
    ///
    /// The probe runs in its own task, so a hung connection attempt cannot hold the caller past `timeout`.
    public func isReachable(timeout: Duration = .seconds(2)) async -> Bool {
        let client = self.client
        let outcome = OneShot<Bool>()
        let probe = Task {
            do {
                try await client.query("SELECT 1")
                outcome.fire(true)
            } catch {
                outcome.fire(false)
            }
        }
        let timer = Task {
            try? await Task.sleep(for: timeout)
            outcome.fire(false)
        }
        let reachable = await outcome.wait()
        probe.cancel()
        timer.cancel()
        return reachable
    }
}

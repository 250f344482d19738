import ArgumentParser
import Foundation
import Logging
import Storage

/// `--database-url`, shared by every subcommand that talks to Postgres.
struct DatabaseOptions: ParsableArguments {
    @Option(
        name: .long,
        help: ArgumentHelp(
            "Postgres URL (postgres://user:password@host:port/database).",
            discussion: "Default: $KEEL_DATABASE_URL, else \(DatabaseConfiguration.defaultURL)."))
    var databaseURL: String?

    func configuration() throws -> DatabaseConfiguration {
        if let databaseURL { return try DatabaseConfiguration(url: databaseURL) }
        return try DatabaseConfiguration(environment: ProcessInfo.processInfo.environment)
    }

    /// Runs `body` with a connected database; operational failures become exit code 2.
    func withDatabase<Result: Sendable>(_ body: @Sendable (Database, Logger) async throws -> Result) async throws -> Result {
        let logger = CLI.logger
        let configuration: DatabaseConfiguration
        do {
            configuration = try self.configuration()
        } catch {
            CLI.fail("\(error)")
        }
        do {
            return try await Database.withDatabase(configuration: configuration, logger: logger) { database in
                // The pool retries refused connections for about a minute; a person wants an answer sooner.
                guard await database.isReachable(timeout: .seconds(5)) else {
                    CLI.fail("cannot reach the database at \(configuration)")
                }
                return try await body(database, logger)
            }
        } catch let error as ExitCode {
            throw error
        } catch {
            CLI.fail("database \(configuration): \(CLI.safeDescription(error))")
        }
    }
}

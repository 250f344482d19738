import ArgumentParser
import EventModel
import WorkspaceConfig

/// `keel config …`: read stored configuration.
struct ConfigCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config",
        abstract: "Read stored workspace configuration.",
        subcommands: [Show.self]
    )

    /// `keel config show`: the latest stored version, secrets masked.
    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the latest stored version of a workspace as JSON, with secrets shown as ***.")

        @Option(help: "Workspace id. Default: the only stored workspace.")
        var workspace: String?

        @OptionGroup var database: DatabaseOptions

        mutating func run() async throws {
            let requested = workspace
            let stored = try await database.withDatabase { database, logger -> StoredWorkspace? in
                let repository = ConfigRepository(database: database)
                try await repository.migrate(logger: logger)
                var chosen = requested
                if chosen == nil {
                    let all = try await repository.workspaces(logger: logger)
                    if all.count > 1 {
                        CLI.fail("several workspaces are stored (\(all.joined(separator: ", "))); pass --workspace",
                            code: CLI.invalidInput)
                    }
                    chosen = all.first
                }
                guard let chosen else { return nil }
                return try await repository.latest(workspace: chosen, logger: logger)
            }
            guard let stored else {
                CLI.fail("no configuration stored\(requested.map { " for workspace \($0)" } ?? "")", code: CLI.invalidInput)
            }
            CLI.printError("# \(stored.workspace) version \(stored.version), applied \(stored.appliedAt)")
            print(PrettyJSON.render(SecretMasking.masked(stored.document)))
        }
    }
}

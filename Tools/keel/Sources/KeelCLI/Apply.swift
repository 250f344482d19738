import ArgumentParser
import WorkspaceConfig

/// `keel apply FILE`: validate a workspace file and store it as the workspace's new version.
struct Apply: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Validate a workspace file and store it as the new version; running services reload it.",
        discussion: """
            Prints `applied <workspace> version <n>`, or `unchanged` when the stored latest version has the \
            same content. On problems, prints each as `path: message` on stderr, changes nothing and exits 1.
            """)

    @Argument(help: "The workspace file (YAML).")
    var file: String

    @Flag(help: "Validate only; do not touch the database.")
    var dryRun = false

    @OptionGroup var database: DatabaseOptions

    mutating func run() async throws {
        let parsed = try CLI.parseWorkspace(file: file)
        if dryRun {
            print("valid \(parsed.workspace.id) (dry run: nothing applied)")
            return
        }
        let result = try await database.withDatabase { database, logger in
            let repository = ConfigRepository(database: database)
            try await repository.migrate(logger: logger)
            return try await repository.apply(parsed, logger: logger)
        }
        switch result {
        case .applied(let version):
            print("applied \(parsed.workspace.id) version \(version)")
        case .unchanged(let version):
            print("unchanged (\(parsed.workspace.id) version \(version))")
        }
    }
}

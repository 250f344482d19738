import ArgumentParser
import Foundation
import WorkspaceConfig

/// `keel validate FILE`: check a workspace file without storing it.
struct Validate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check a workspace file; print each problem as `path: message` and exit 1 if there are any.")

    @Argument(help: "The workspace file (YAML).")
    var file: String

    @Flag(help: "Also report ${NAME} references whose variable is not set in this shell's environment.")
    var checkEnv = false

    mutating func run() async throws {
        let parsed = try CLI.parseWorkspace(file: file)
        if checkEnv {
            let missing = SecretResolver(environment: ProcessInfo.processInfo.environment)
                .missing(in: parsed.document, at: "")
            if !missing.isEmpty {
                for problem in missing { CLI.printError(problem.description) }
                throw CLI.invalidInput
            }
        }
        let workspace = parsed.workspace
        print(
            "valid \(workspace.id): \(workspace.sources.count) sources, \(workspace.destinations.count) destinations, "
                + "\(workspace.connections.count) connections, \(workspace.transformations.count) transformations, "
                + "\(workspace.libraries.count) libraries")
    }
}

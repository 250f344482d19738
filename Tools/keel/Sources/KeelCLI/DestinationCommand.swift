import ArgumentParser
import Destinations
import EventModel
import Foundation
import WorkspaceConfig

/// `keel destination …`: inspect destination transformations.
struct DestinationCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "destination",
        abstract: "Inspect destination transformations.",
        subcommands: [DestinationPreviewCommand.self])
}

/// `keel destination preview --type TYPE --config FILE --event FILE`: prints what the processor's
/// destination transformation makes of one event: the HTTP request(s) with secrets masked, the
/// batch row, or the drop/abort reason. The same function runs in the processor.
struct DestinationPreviewCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "preview",
        abstract: "Print the request(s) a destination would receive for an event, secrets masked.",
        discussion: """
            CONFIG is a JSON file with the destination's config object (as under `config:` in the workspace
            file; ${VAR} references are resolved from the environment). EVENT is a JSON file with one event.
            Output: {"requests":[…]}, {"plan":{"steps":[…]}} (a multi-step delivery), {"batchRow":…},
            {"drop":reason} or {"abort":reason}.
            Exit status: 0 for requests, a plan, a batch row or a drop; 1 for an abort or an invalid type or config.
            """)

    @Option(help: "Destination type: \(DestinationRegistry.standard.definitions.map(\.type).joined(separator: ", ")).")
    var type: String

    @Option(help: "A JSON file holding the destination's config object.")
    var config: String

    @Option(help: "A JSON file holding one event.")
    var event: String

    func run() async throws {
        let configValue = try Self.parse(config, what: "config")
        let eventValue = try Self.parse(event, what: "event")
        let resolved: JSON
        do {
            resolved = try SecretResolver(environment: ProcessInfo.processInfo.environment).resolve(configValue, at: "config")
        } catch {
            CLI.fail("\(error)", code: CLI.invalidInput)
        }
        let output = DestinationPreview.render(type: type, config: resolved, event: eventValue)
        print(PrettyJSON.render(output))
        if output["abort"] != nil || output["error"] != nil { throw CLI.invalidInput }
    }

    private static func parse(_ path: String, what: String) throws -> JSON {
        do {
            return try JSON(parsing: try CLI.readFile(path))
        } catch let error as JSONError {
            CLI.fail("\(path): \(what) is not valid JSON (\(error))", code: CLI.invalidInput)
        }
    }
}

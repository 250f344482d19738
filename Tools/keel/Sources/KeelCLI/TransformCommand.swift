import ArgumentParser
import EventModel
import Foundation
import Transformations

/// `keel transform …`: work with user transformations locally.
struct TransformCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "transform",
        abstract: "Run user transformations (JavaScript) locally.",
        subcommands: [TransformTest.self])
}

/// `keel transform test --code FILE [--library name=FILE …] --events FILE.json`: runs a
/// transformation on the same engine, with the same limits, as the processor, and prints what
/// became of each event.
struct TransformTest: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "test",
        abstract: "Run a transformation over events and print the output events, dropped events, logs and errors.",
        discussion: """
            EVENTS is a JSON array of event objects. metadata(event) returns the ids given by the options below and
            the event's own messageId. Exit status: 0 when every event was transformed or dropped, 1 when any failed.
            """)

    @Option(help: "The transformation: an ES module exporting transformEvent and/or transformBatch.")
    var code: String

    @Option(name: .customLong("library"), help: "A library as name=FILE, importable as `import { f } from 'name'`. Repeatable.")
    var libraries: [String] = []

    @Option(help: "A JSON file holding an array of events.")
    var events: String

    @Option(name: .customLong("allow-host"), help: "A host (or host:port) fetch may reach. Repeatable. Only http:// is supported.")
    var allowedHosts: [String] = []

    @Option(help: "Time limit per call in milliseconds.")
    var timeLimitMs = 4000

    @Option(help: "Memory limit of the transformation in MiB.")
    var memoryLimitMb = 128

    @Option var workspaceId = "local"
    @Option var sourceId = "local-source"
    @Option var sourceType = "HTTP"
    @Option var destinationId = "local-destination"
    @Option var destinationType = "WEBHOOK"

    func run() async throws {
        let transformation = TransformationCode(id: URL(fileURLWithPath: code).lastPathComponent, code: try CLI.readFile(code))
        var libraryCode: [LibraryCode] = []
        for spec in libraries {
            guard let equals = spec.firstIndex(of: "="), equals != spec.startIndex else {
                CLI.fail("--library expects name=FILE, got \(spec)", code: CLI.invalidInput)
            }
            libraryCode.append(
                LibraryCode(name: String(spec[..<equals]), code: try CLI.readFile(String(spec[spec.index(after: equals)...]))))
        }
        let inputs = try readEvents()

        var configuration = TransformationEngine.Configuration()
        configuration.workers = 1
        configuration.timeLimit = .milliseconds(timeLimitMs)
        configuration.memoryLimitBytes = memoryLimitMb << 20
        let engine: TransformationEngine
        do {
            engine = try TransformationEngine(configuration: configuration)
        } catch {
            CLI.fail("\(error)")
        }
        let outcomes = await engine.transform(
            inputs, transformation: transformation, libraries: libraryCode, allowedFetchHosts: allowedHosts)
        engine.shutdown()

        var failed = 0
        for (index, outcome) in outcomes.enumerated() {
            let id = inputs[index].metadata.messageId.isEmpty ? "#\(index)" : inputs[index].metadata.messageId
            for line in outcome.logs { print("[\(id)] log: \(line)") }
            switch outcome.result {
            case .events(let events):
                for event in events {
                    let rendered = (try? JSON(parsing: event)).map(PrettyJSON.render) ?? String(decoding: event, as: UTF8.self)
                    print("[\(id)] output:\n\(rendered)")
                }
            case .dropped:
                print("[\(id)] dropped")
            case .failed(let error):
                failed += 1
                print("[\(id)] error: \(error)")
                if let stack = error.stack, !stack.isEmpty {
                    print(stack.split(separator: "\n").map { "    at \($0)" }.joined(separator: "\n"))
                }
            }
        }
        let transformed = outcomes.filter { if case .events = $0.result { true } else { false } }.count
        let dropped = outcomes.filter { if case .dropped = $0.result { true } else { false } }.count
        print("\(outcomes.count) events: \(transformed) transformed, \(dropped) dropped, \(failed) failed")
        if failed > 0 { throw CLI.invalidInput }
    }

    private func readEvents() throws -> [TransformInput] {
        let text = try CLI.readFile(events)
        guard case .array(let elements)? = try? JSON(parsing: text) else {
            CLI.fail("\(events): expected a JSON array of events", code: CLI.invalidInput)
        }
        return elements.map { event in
            var messageId = ""
            if case .string(let id)? = event["messageId"] { messageId = id }
            return TransformInput(
                event: event.serialized(),
                metadata: TransformMetadata(
                    sourceId: sourceId, sourceType: sourceType, destinationId: destinationId,
                    destinationType: destinationType, messageId: messageId, workspaceId: workspaceId))
        }
    }
}

import ArgumentParser
import Destinations
import Foundation
import Logging
import PostgresNIO
import Storage
import WorkspaceConfig

/// Output and exit-code conventions of `keel`: results on stdout, problems on stderr; exit 1 when the
/// input is invalid, 2 when the operation could not be carried out (database unreachable, …).
enum CLI {
    static let invalidInput = ExitCode(1)
    static let operationFailed = ExitCode(2)

    /// Destination types `keel` accepts and their config checks: the Destinations registry's.
    static let destinationValidators = DestinationRegistry.standard.configValidators

    /// Logs warnings and worse to stderr; postgres-nio's chatter stays quiet.
    static let logger: Logger = {
        var logger = Logger(label: "keel", factory: { label in StreamLogHandler.standardError(label: label) })
        logger.logLevel = .warning
        return logger
    }()

    static func printError(_ line: String) {
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }

    static func fail(_ message: String, code: ExitCode = operationFailed) -> Never {
        printError("error: \(message)")
        Foundation.exit(code.rawValue)
    }

    static func readFile(_ path: String) throws -> String {
        do {
            let data = try Data(contentsOf: URL(fileURLWithPath: path))
            guard let text = String(data: data, encoding: .utf8) else {
                fail("\(path): not UTF-8 text", code: invalidInput)
            }
            return text
        } catch {
            fail("cannot read \(path)", code: invalidInput)
        }
    }

    /// Parses and validates a workspace file, printing every issue as `path: message` on failure.
    static func parseWorkspace(file: String) throws -> WorkspaceDocument {
        let text = try readFile(file)
        do {
            return try WorkspaceParser(destinationValidators: destinationValidators).parse(yaml: text)
        } catch {
            for issue in error.issues { printError(issue.description) }
            printError("\(file): \(error.issues.count) problem\(error.issues.count == 1 ? "" : "s"); nothing applied")
            throw invalidInput
        }
    }

    /// No query text, no bound values.
    static func safeDescription(_ error: any Error) -> String {
        if let psql = error as? PSQLError {
            if let message = psql.serverInfo?[.message] { return message }
            return "cannot reach the server (\(psql.code))"
        }
        if let storage = error as? StorageError { return storage.message }
        if let config = error as? WorkspaceConfigError { return config.description }
        return String(describing: type(of: error))
    }
}

import Foundation
import Logging
import Storage
import StorageTesting
import WorkspaceConfig
import XCTest

/// Runs the built `keel` binary against a test database, as a user would.
final class KeelCommandTests: XCTestCase {
    let logger = Logger(label: "keel-command-tests")

    func testApplyValidateAndShow() async throws {
        let test = try await TestDatabase.make(logger: logger)
        do {
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("keel-cli-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: directory) }
            let good = directory.appendingPathComponent("workspace.yaml")
            try exampleWorkspace.write(to: good, atomically: true, encoding: .utf8)
            let broken = directory.appendingPathComponent("broken.yaml")
            try exampleWorkspace
                .replacingOccurrences(of: "\"http://127.0.0.1:9999/hook\"", with: "\"not a url\"")
                .replacingOccurrences(of: "- { source: web, destinations: [hook] }", with: "- { source: webx, destinations: [hook] }")
                .write(to: broken, atomically: true, encoding: .utf8)
            let url = ["--database-url", test.url]

            // A broken file: every problem on stderr, exit 1, nothing stored.
            let rejected = try run(["apply", broken.path] + url)
            XCTAssertEqual(rejected.status, 1)
            XCTAssertEqual(rejected.stdout, "")
            let lines = rejected.stderr.split(separator: "\n").map(String.init)
            XCTAssertEqual(lines.count, 3, rejected.stderr)
            // The URL check's wording belongs to the Destinations module; the path is ours.
            XCTAssertTrue(lines.first?.hasPrefix("destinations[0].config.url: ") == true, rejected.stderr)
            XCTAssertEqual(Array(lines.dropFirst()), [
                "connections[0].source: unknown source \"webx\"",
                "\(broken.path): 2 problems; nothing applied",
            ])
            let repository = ConfigRepository(database: test.database)
            try await repository.migrate(logger: logger)
            let afterBroken = try await repository.workspaces(logger: logger)
            XCTAssertEqual(afterBroken, [], "a rejected file changes nothing")

            let validated = try run(["validate", good.path])
            XCTAssertEqual(validated.status, 0, validated.stderr)
            XCTAssertTrue(validated.stdout.hasPrefix("valid acme: 1 sources, 1 destinations"), validated.stdout)
            let envCheck = try run(["validate", good.path, "--check-env"], environment: ["HOOK_TOKEN": nil])
            XCTAssertEqual(envCheck.status, 1)
            XCTAssertEqual(envCheck.stderr, "destinations[0].config.headers.X-Token: environment variable HOOK_TOKEN is not set\n")

            let dryRun = try run(["apply", good.path, "--dry-run"] + url)
            XCTAssertEqual(dryRun.status, 0, dryRun.stderr)
            let afterDryRun = try await repository.workspaces(logger: logger)
            XCTAssertEqual(afterDryRun, [])

            let applied = try run(["apply", good.path] + url)
            XCTAssertEqual(applied.status, 0, applied.stderr)
            let stored = try await repository.latest(workspace: "acme", logger: logger)
            let version = try XCTUnwrap(stored?.version)
            XCTAssertEqual(applied.stdout, "applied acme version \(version)\n")

            let again = try run(["apply", good.path] + url)
            XCTAssertEqual(again.status, 0, again.stderr)
            XCTAssertTrue(again.stdout.hasPrefix("unchanged"), again.stdout)

            let shown = try run(["config", "show"] + url)
            XCTAssertEqual(shown.status, 0, shown.stderr)
            XCTAssertTrue(shown.stdout.contains("\"writeKey\": \"***\""), shown.stdout)
            XCTAssertFalse(shown.stdout.contains("2bX9localdevkey"))
            XCTAssertTrue(shown.stdout.contains("\"X-Token\": \"***\""))
            XCTAssertTrue(shown.stdout.contains("\"url\": \"http://127.0.0.1:9999/hook\""))

            // Unreachable database: exit 2, and the password is not printed.
            let down = try run(["apply", good.path, "--database-url", "postgres://keel:hunter2@127.0.0.1:1/keel"])
            XCTAssertEqual(down.status, 2)
            XCTAssertFalse(down.stderr.contains("hunter2"), down.stderr)
        } catch {
            try await test.drop()
            throw error
        }
        try await test.drop()
    }

    private struct Output {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    private func run(_ arguments: [String], environment overrides: [String: String?] = [:]) throws -> Output {
        let binary = Self.productsDirectory.appendingPathComponent("keel")
        guard FileManager.default.isExecutableFile(atPath: binary.path) else {
            if ProcessInfo.processInfo.environment["KEEL_REQUIRE_SERVICES"] == "1" {
                XCTFail("the keel binary is not built at \(binary.path)")
            }
            throw XCTSkip("the keel binary is not built at \(binary.path) (swift build --product keel)")
        }
        let process = Process()
        process.executableURL = binary
        process.arguments = arguments
        var environment = ProcessInfo.processInfo.environment
        environment["KEEL_DATABASE_URL"] = nil
        for (key, value) in overrides { environment[key] = value }
        process.environment = environment
        let stdout = Pipe()
        let stderr = Pipe()
        process.standardOutput = stdout
        process.standardError = stderr
        try process.run()
        let out = stdout.fileHandleForReading.readDataToEndOfFile()
        let err = stderr.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Output(
            status: process.terminationStatus, stdout: String(decoding: out, as: UTF8.self),
            stderr: String(decoding: err, as: UTF8.self))
    }

    /// `.build/debug`: the directory holding the test bundle also holds the products.
    private static var productsDirectory: URL {
        for bundle in Bundle.allBundles where bundle.bundlePath.hasSuffix(".xctest") {
            return bundle.bundleURL.deletingLastPathComponent()
        }
        return Bundle.main.bundleURL
    }
}

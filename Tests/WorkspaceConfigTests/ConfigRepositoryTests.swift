import EventModel
import Logging
import PostgresNIO
import Storage
import StorageTesting
import WorkspaceConfig
import XCTest

final class ConfigRepositoryTests: XCTestCase {
    let logger = Logger(label: "workspace-config-tests")

    func testApplyStoresVersionsSkipsUnchangedAndNotifies() async throws {
        let test = try await TestDatabase.make(logger: logger)
        do {
            let repository = ConfigRepository(database: test.database)
            try await repository.migrate(logger: logger)
            let logger = self.logger

            // Listen on a separate client, as a service would.
            let (payloads, payloadSink) = AsyncStream.makeStream(of: String.self)
            let listening = AsyncStream.makeStream(of: Void.self)
            let listener = Task {
                try await Database.withDatabase(configuration: test.configuration, logger: logger) { database in
                    try await database.withConnection { connection in
                        try await connection.listen(on: ConfigRepository.channel) { notifications in
                            listening.continuation.yield()
                            for try await notification in notifications { payloadSink.yield(notification.payload) }
                        }
                    }
                }
            }
            var ready = listening.stream.makeAsyncIterator()
            _ = await ready.next()

            let v1 = try WorkspaceParser().parse(yaml: exampleWorkspace)
            let first = try await repository.apply(v1, logger: logger)
            guard case .applied(let version1) = first else { return XCTFail("expected applied, got \(first)") }

            // Same content written differently (comments, key order, flow style) is unchanged.
            let reformatted = try WorkspaceParser().parse(
                yaml: "# reformatted\n" + exampleWorkspace.replacingOccurrences(
                    of: "- { source: web, destinations: [hook] }", with: "- destinations: [hook]\n    source: web"))
            let second = try await repository.apply(reformatted, logger: logger)
            XCTAssertEqual(second, .unchanged(version: version1))

            let v2 = try WorkspaceParser().parse(yaml: exampleWorkspace.replacingOccurrences(of: "Marketing site", with: "Site"))
            let third = try await repository.apply(v2, logger: logger)
            guard case .applied(let version2) = third else { return XCTFail("expected applied, got \(third)") }
            XCTAssertGreaterThan(version2, version1)

            var received = payloads.makeAsyncIterator()
            let firstPayload = await received.next()
            let secondPayload = await received.next()
            XCTAssertEqual(firstPayload, "acme:\(version1)")
            XCTAssertEqual(secondPayload, "acme:\(version2)", "no notification for the unchanged apply")
            listener.cancel()

            let latest = try await repository.latest(workspace: "acme", logger: logger)
            XCTAssertEqual(latest?.version, version2)
            XCTAssertEqual(latest?.document, v2.document)
            XCTAssertEqual(latest?.checksum.count, 64)
            let none = try await repository.latest(workspace: "other", logger: logger)
            XCTAssertNil(none)
            let workspaces = try await repository.workspaces(logger: logger)
            XCTAssertEqual(workspaces, ["acme"])
        } catch {
            try await test.drop()
            throw error
        }
        try await test.drop()
    }

    func testConcurrentIdenticalAppliesStoreOneVersion() async throws {
        let test = try await TestDatabase.make(logger: logger)
        do {
            let repository = ConfigRepository(database: test.database)
            try await repository.migrate(logger: logger)
            let parsed = try WorkspaceParser().parse(yaml: exampleWorkspace)
            let logger = self.logger
            let results = try await withThrowingTaskGroup(of: ConfigRepository.ApplyResult.self) { group in
                for _ in 0..<5 { group.addTask { try await repository.apply(parsed, logger: logger) } }
                var all: [ConfigRepository.ApplyResult] = []
                for try await result in group { all.append(result) }
                return all
            }
            let applied = results.filter { if case .applied = $0 { return true } else { return false } }
            XCTAssertEqual(applied.count, 1, "\(results)")
        } catch {
            try await test.drop()
            throw error
        }
        try await test.drop()
    }
}

import EventModel
import Logging
import PostgresNIO
import Storage
import StorageTesting
import WorkspaceConfig
import XCTest

final class ConfigStoreTests: XCTestCase {
    let logger = Logger(label: "config-store-tests")

    func testARunningStoreFollowsNewVersionsWithoutRestart() async throws {
        let test = try await TestDatabase.make(logger: logger)
        let logger = self.logger
        do {
            // v1 is applied before the store starts.
            let repository = ConfigRepository(database: test.database)
            try await repository.migrate(logger: logger)
            _ = try await repository.apply(try WorkspaceParser().parse(yaml: exampleWorkspace), logger: logger)

            let serviceDatabase = test.makeDatabase()
            let store = ConfigStore(
                database: serviceDatabase,
                configuration: .init(workspace: "acme", recheckInterval: .seconds(60)),
                logger: logger)
            let service = Task {
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask { try await serviceDatabase.run() }
                    group.addTask { try await store.run() }
                    try await group.next()
                    group.cancelAll()
                }
            }
            defer { service.cancel() }

            let first = try await withTimeout(.seconds(10)) { try await store.waitForFirstLoad() }
            XCTAssertEqual(first.workspace.sources.first?.name, "Marketing site")
            XCTAssertEqual(store.source(writeKey: "2bX9localdevkey")?.id, "web")
            XCTAssertEqual(store.destinations(forSource: "web").map(\.id), ["hook"])
            XCTAssertEqual(store.transformation(id: "drop-internal")?.importedLibraries, ["isRudderEmail"])
            XCTAssertNotNil(store.library(name: "isRudderEmail"))

            var updates = store.updates.makeAsyncIterator()
            let initial = await updates.next()
            XCTAssertEqual(initial?.sources.first?.name, "Marketing site", "a new stream starts with the current version")

            // v2 through another client: a notification, not the 60 s re-check, brings it in.
            let v2 = exampleWorkspace.replacingOccurrences(of: "Marketing site", with: "Marketing site v2")
                .replacingOccurrences(of: "2bX9localdevkey", with: "rotatedkey")
            let started = ContinuousClock.now
            let result = try await Database.withDatabase(configuration: test.configuration, logger: logger) { other in
                try await ConfigRepository(database: other).apply(try WorkspaceParser().parse(yaml: v2), logger: logger)
            }
            guard case .applied(let version2) = result else { return XCTFail("\(result)") }

            let next = try await withTimeout(.seconds(1)) { () -> Workspace? in
                var iterator = store.updates.makeAsyncIterator()
                while let workspace = await iterator.next() {
                    if workspace.sources.first?.name == "Marketing site v2" { return workspace }
                }
                return nil
            }
            XCTAssertNotNil(next)
            XCTAssertLessThan(ContinuousClock.now - started, .seconds(1))
            XCTAssertEqual(store.snapshot?.version, version2)
            XCTAssertEqual(store.current?.sources.first?.name, "Marketing site v2")
            XCTAssertNil(store.source(writeKey: "2bX9localdevkey"), "the old key stops working")
            XCTAssertEqual(store.source(writeKey: "rotatedkey")?.id, "web")
            let streamed = await updates.next()
            XCTAssertEqual(streamed?.sources.first?.name, "Marketing site v2", "existing streams get the new version")
        } catch {
            try await test.drop()
            throw error
        }
        try await test.drop()
    }

    func testWaitsForTheFirstApplyAndPicksTheOnlyWorkspace() async throws {
        let test = try await TestDatabase.make(logger: logger)
        let logger = self.logger
        do {
            let serviceDatabase = test.makeDatabase()
            let store = ConfigStore(database: serviceDatabase, configuration: .init(workspace: nil), logger: logger)
            let service = Task {
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask { try await serviceDatabase.run() }
                    group.addTask { try await store.run() }
                    try await group.next()
                    group.cancelAll()
                }
            }
            defer { service.cancel() }
            let waiting = Task { try await store.waitForFirstLoad() }
            try await Task.sleep(for: .milliseconds(500))
            XCTAssertNil(store.current, "nothing applied yet")

            // The store created the schema itself; nothing is applied yet. Apply the first version now.
            try await Database.withDatabase(configuration: test.configuration, logger: logger) { other in
                let repository = ConfigRepository(database: other)
                try await repository.migrate(logger: logger)
                _ = try await repository.apply(try WorkspaceParser().parse(yaml: exampleWorkspace), logger: logger)
            }
            // No workspace was configured: the store discovers `acme` on the next re-check (30 s by
            // default), so trigger one directly rather than wait.
            try await store.reload()
            let loaded = try await withTimeout(.seconds(5)) { try await waiting.value }
            XCTAssertEqual(loaded.workspace.id, "acme")
        } catch {
            try await test.drop()
            throw error
        }
        try await test.drop()
    }

    func testAnInvalidStoredVersionKeepsThePreviousOne() async throws {
        let test = try await TestDatabase.make(logger: logger)
        let logger = self.logger
        do {
            let repository = ConfigRepository(database: test.database)
            try await repository.migrate(logger: logger)
            _ = try await repository.apply(try WorkspaceParser().parse(yaml: exampleWorkspace), logger: logger)
            let store = ConfigStore(database: test.database, configuration: .init(workspace: "acme"), logger: logger)
            try await store.reload()
            let good = try XCTUnwrap(store.snapshot?.version)

            // A row no parser accepts (written around `keel apply`): the store must keep serving v1.
            try await test.database.client.query(
                """
                INSERT INTO keel_config.workspace_versions (workspace, document, checksum)
                VALUES ('acme', '{"workspace":"acme","sources":"nope"}', 'x')
                """, logger: logger)
            do {
                try await store.reload()
                XCTFail("expected the invalid version to be rejected")
            } catch let error as WorkspaceConfigError {
                XCTAssertEqual(error.issues.map(\.description), ["sources: must be a list"])
            }
            XCTAssertEqual(store.snapshot?.version, good)
        } catch {
            try await test.drop()
            throw error
        }
        try await test.drop()
    }

    func testAMissedNotificationIsCaughtByThePeriodicRecheck() async throws {
        let test = try await TestDatabase.make(logger: logger)
        let logger = self.logger
        do {
            let repository = ConfigRepository(database: test.database)
            try await repository.migrate(logger: logger)
            let v1 = try WorkspaceParser().parse(yaml: exampleWorkspace)
            _ = try await repository.apply(v1, logger: logger)

            let serviceDatabase = test.makeDatabase()
            let store = ConfigStore(
                database: serviceDatabase,
                configuration: .init(workspace: "acme", recheckInterval: .milliseconds(300)),
                logger: logger)
            let service = Task {
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask { try await serviceDatabase.run() }
                    group.addTask { try await store.run() }
                    try await group.next()
                    group.cancelAll()
                }
            }
            defer { service.cancel() }
            _ = try await withTimeout(.seconds(10)) { try await store.waitForFirstLoad() }

            // A version stored without NOTIFY, as if the notification was lost during a reconnect.
            let v2 = try WorkspaceParser().parse(yaml: exampleWorkspace.replacingOccurrences(of: "Marketing site", with: "Quiet"))
            let text = v2.document.jsonString
            try await test.database.client.query(
                "INSERT INTO keel_config.workspace_versions (workspace, document, checksum) VALUES ('acme', \(text), 'x')",
                logger: logger)
            let seen = try await withTimeout(.seconds(3)) { () -> Bool in
                for await workspace in store.updates where workspace.sources.first?.name == "Quiet" { return true }
                return false
            }
            XCTAssertTrue(seen)
        } catch {
            try await test.drop()
            throw error
        }
        try await test.drop()
    }

    func testWaitingForTheFirstLoadCanBeCancelled() async throws {
        let test = try await TestDatabase.make(logger: logger)
        let store = ConfigStore(database: test.database, configuration: .init(workspace: "none"), logger: logger)
        let waiting = Task { try await store.waitForFirstLoad() }
        try await Task.sleep(for: .milliseconds(100))
        waiting.cancel()
        do {
            _ = try await waiting.value
            XCTFail("expected cancellation")
        } catch is CancellationError {}
        try await test.drop()
    }
}

func withTimeout<T: Sendable>(_ limit: Duration, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
    try await withThrowingTaskGroup(of: T.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await Task.sleep(for: limit)
            throw TimeoutError()
        }
        let first = try await group.next()!
        group.cancelAll()
        return first
    }
}

struct TimeoutError: Error {}

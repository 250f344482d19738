import Logging
import PostgresNIO
import Storage
import StorageTesting
import XCTest

final class MigrationTests: XCTestCase {
    let logger = Logger(label: "storage-tests")

    private let migrations = [
        Migration(version: 1, name: "create items", sql: "CREATE TABLE items (id bigint PRIMARY KEY, label text)"),
        Migration(
            version: 2, name: "several statements and a function",
            sql: """
                CREATE TABLE runs (n integer NOT NULL);
                INSERT INTO runs VALUES (1);
                CREATE FUNCTION double_it(x integer) RETURNS integer LANGUAGE sql AS $$ SELECT x * 2 $$;
                -- a comment; with a semicolon
                ALTER TABLE items ADD COLUMN note text DEFAULT 'a;b';
                """),
    ]

    func testAppliesInOrderOnceAndRecordsHistory() async throws {
        let test = try await TestDatabase.make(logger: logger)
        do {
            let database = test.database
            let first = try await database.migrate(schema: "router", migrations: migrations.reversed(), logger: logger)
            XCTAssertEqual(first, [1, 2])
            let second = try await database.migrate(schema: "router", migrations: migrations, logger: logger)
            XCTAssertEqual(second, [], "a second run finds nothing to do")

            let history = try await database.client.query(
                "SELECT version, name FROM router.schema_migrations ORDER BY version", logger: logger)
            var rows: [(Int, String)] = []
            for try await row in history.decode((Int, String).self) { rows.append(row) }
            XCTAssertEqual(rows.map(\.0), [1, 2])
            XCTAssertEqual(rows.map(\.1), ["create items", "several statements and a function"])

            let doubled = try await scalar(database, "SELECT router.double_it(21)")
            XCTAssertEqual(doubled, 42)
            let note = try await database.client.query(
                "INSERT INTO router.items (id) VALUES (1) RETURNING note", logger: logger)
            for try await value in note.decode(String.self) { XCTAssertEqual(value, "a;b") }

            let third = try await database.migrate(
                schema: "router",
                migrations: migrations + [Migration(version: 3, name: "index", sql: "CREATE INDEX ON items (label)")],
                logger: logger)
            XCTAssertEqual(third, [3], "only the new version runs")
        } catch {
            try await test.drop()
            throw error
        }
        try await test.drop()
    }

    func testAFailingMigrationRollsBackAndReleasesTheLock() async throws {
        let test = try await TestDatabase.make(logger: logger)
        do {
            let database = test.database
            let broken = migrations + [
                Migration(
                    version: 3, name: "half broken",
                    sql: "CREATE TABLE partial (x int); INSERT INTO no_such_table VALUES (1)")
            ]
            do {
                try await database.migrate(schema: "router", migrations: broken, logger: logger)
                XCTFail("expected the migration to fail")
            } catch let error as StorageError {
                XCTAssertEqual(error.code, .migrationFailed)
                XCTAssertTrue(error.message.contains("v3"), error.message)
                XCTAssertTrue(error.message.contains("no_such_table"), "names the server's reason: \(error.message)")
            }
            let versions = try await scalar(database, "SELECT count(*)::int FROM router.schema_migrations")
            XCTAssertEqual(versions, 2, "versions before the failure stay applied")
            let partial = try await scalar(
                database, "SELECT count(*)::int FROM pg_tables WHERE schemaname = 'router' AND tablename = 'partial'")
            XCTAssertEqual(partial, 0, "the failed migration left nothing behind")

            // The lock was released: a fixed migration applies at once, from another client.
            let fixed = migrations + [Migration(version: 3, name: "fixed", sql: "CREATE TABLE partial (x int)")]
            let logger = self.logger
            let applied = try await withTimeout(.seconds(10)) {
                try await Database.withDatabase(configuration: test.configuration, logger: logger) { other in
                    try await other.migrate(schema: "router", migrations: fixed, logger: logger)
                }
            }
            XCTAssertEqual(applied, [3])
        } catch {
            try await test.drop()
            throw error
        }
        try await test.drop()
    }

    func testReplicasMigratingAtOnceApplyEachVersionOnce() async throws {
        let test = try await TestDatabase.make(logger: logger)
        do {
            // Each migration appends to a log table; a version applied twice would leave two rows.
            let counted = (1...5).map { version in
                Migration(
                    version: version, name: "step \(version)",
                    sql: version == 1
                        ? "CREATE TABLE applied (version int NOT NULL); SELECT pg_sleep(0.3); INSERT INTO applied VALUES (1)"
                        : "INSERT INTO applied VALUES (\(version))")
            }
            let configuration = test.configuration
            let logger = self.logger
            let results = try await withThrowingTaskGroup(of: [Int].self) { group in
                for _ in 0..<6 {
                    group.addTask {
                        try await Database.withDatabase(configuration: configuration, logger: logger) { replica in
                            try await replica.migrate(schema: "processor", migrations: counted, logger: logger)
                        }
                    }
                }
                var all: [[Int]] = []
                for try await result in group { all.append(result) }
                return all
            }
            XCTAssertEqual(results.flatMap { $0 }.sorted(), [1, 2, 3, 4, 5], "each version applied by exactly one replica")
            XCTAssertEqual(results.filter { !$0.isEmpty }.count, 1, "one replica migrated, the others found it done")
            let rows = try await scalar(test.database, "SELECT count(*)::int FROM processor.applied")
            XCTAssertEqual(rows, 5)
        } catch {
            try await test.drop()
            throw error
        }
        try await test.drop()
    }

    func testRejectsDuplicateVersionsWithoutTouchingTheDatabase() async throws {
        let test = try await TestDatabase.make(logger: logger)
        do {
            let duplicate = [migrations[0], Migration(version: 1, name: "again", sql: "SELECT 1")]
            do {
                try await test.database.migrate(schema: "dup", migrations: duplicate, logger: logger)
                XCTFail("expected an error")
            } catch let error as StorageError {
                XCTAssertEqual(error.code, .invalidMigrations)
            }
            let schemas = try await scalar(
                test.database, "SELECT count(*)::int FROM information_schema.schemata WHERE schema_name = 'dup'")
            XCTAssertEqual(schemas, 0)
        } catch {
            try await test.drop()
            throw error
        }
        try await test.drop()
    }

    func testReachability() async throws {
        let test = try await TestDatabase.make(logger: logger)
        let reachable = await test.database.isReachable()
        XCTAssertTrue(reachable)
        try await test.drop()

        // Nothing listens on port 1: the probe answers false, quickly, without throwing.
        var nowhere = test.configuration
        nowhere.port = 1
        nowhere.connectTimeout = .seconds(1)
        let started = ContinuousClock.now
        let unreachable = try await Database.withDatabase(configuration: nowhere, logger: logger) { database in
            await database.isReachable(timeout: .milliseconds(500))
        }
        XCTAssertFalse(unreachable)
        XCTAssertLessThan(ContinuousClock.now - started, .seconds(5))
    }

    private func scalar(_ database: Database, _ sql: String) async throws -> Int {
        let rows = try await database.client.query(PostgresQuery(unsafeSQL: sql), logger: logger)
        for try await value in rows.decode(Int.self) { return value }
        throw StorageError(.unreachable, "no row")
    }
}

func withTimeout<T: Sendable>(_ limit: Duration, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
    try await withThrowingTaskGroup(of: T.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await Task.sleep(for: limit)
            throw CancellationError()
        }
        let first = try await group.next()!
        group.cancelAll()
        return first
    }
}

import Logging
import PostgresNIO
import Storage
import StorageTesting
import XCTest

@testable import ProcessorService

/// The dedup lookup must probe the primary key once per id whatever the window holds: as a plain
/// join, Postgres hashed the whole `processor.dedup` table for each batch while it held fewer than
/// a few million marks (~205 ms per 10,000 ids with 500,000 marks, instead of ~25 ms).
final class DedupLookupPlanTests: XCTestCase {
    func testTheLookupProbesTheIndexAndNeverScansTheWindow() async throws {
        let testDatabase = try await TestDatabase.make(logger: TestSupport.logger)
        let database = testDatabase.database
        let logger = TestSupport.logger
        try await database.migrate(schema: ProcessorSchema.name, migrations: ProcessorSchema.migrations, logger: logger)
        try await database.client.query(
            """
            INSERT INTO processor.dedup (partition, message_id, seen_at)
            SELECT i % 6, 'earlier-' || i, now() - interval '1 hour' FROM generate_series(1, 200000) AS i
            """, logger: logger)
        try await database.client.query("ANALYZE processor.dedup", logger: logger)

        let store = DedupStore(database: database, window: .seconds(86_400))
        let keys = (0..<10_000).map { DedupStore.Key(partition: Int32($0 % 6), messageId: "batch-\($0)") }
            + [DedupStore.Key(partition: 1, messageId: "earlier-7")]
        // The plan of a first execution (custom: planned for these values), and the generic plan
        // Postgres may cache for the prepared statement after a few executions.
        let statement = store.lookup(keys)
        let partitions = "{" + statement.partitions.map(String.init).joined(separator: ",") + "}"
        let ids = "{" + statement.messageIds.joined(separator: ",") + "}"
        for mode in ["force_custom_plan", "force_generic_plan"] {
            let text = try await database.client.withConnection { connection in
                _ = try await connection.query(PostgresQuery(unsafeSQL: "SET plan_cache_mode = \(mode)"), logger: logger)
                _ = try await connection.query(
                    PostgresQuery(unsafeSQL: "PREPARE lookup_plan(int4[], text[], float8) AS " + DedupStore.Lookup.sql), logger: logger)
                // EXECUTE takes no bind parameters: the arrays as literals (the ids need no quoting).
                let rows = try await connection.query(
                    PostgresQuery(
                        unsafeSQL: "EXPLAIN (COSTS OFF) EXECUTE lookup_plan('\(partitions)', '\(ids)', \(statement.windowSeconds))"),
                    logger: logger)
                var plan: [String] = []
                for try await line in rows.decode(String.self) { plan.append(line) }
                _ = try await connection.query("DEALLOCATE lookup_plan", logger: logger)
                return plan.joined(separator: "\n")
            }
            XCTAssertTrue(text.contains("Index Scan using dedup_pkey") || text.contains("Index Only Scan using dedup_pkey"), "\(mode): \(text)")
            XCTAssertFalse(text.contains("Seq Scan on dedup"), "\(mode): \(text)")
            XCTAssertFalse(text.contains("Hash"), "\(mode): \(text)")
        }

        // And it answers: the one earlier id is found, the new ones are not.
        let found = try await store.seen(keys, logger: logger)
        XCTAssertEqual(found, [DedupStore.Key(partition: 1, messageId: "earlier-7")])
        try await testDatabase.drop()
    }
}

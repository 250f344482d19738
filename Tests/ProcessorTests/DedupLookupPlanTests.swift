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
        let query = store.lookupQuery(keys)
        let rows = try await database.client.query(
            PostgresQuery(unsafeSQL: "EXPLAIN (COSTS OFF) " + query.sql, binds: query.binds), logger: logger)
        var plan: [String] = []
        for try await line in rows.decode(String.self) { plan.append(line) }
        let text = plan.joined(separator: "\n")
        XCTAssertTrue(text.contains("Index Scan using dedup_pkey") || text.contains("Index Only Scan using dedup_pkey"), text)
        XCTAssertFalse(text.contains("Seq Scan on dedup"), text)
        XCTAssertFalse(text.contains("Hash"), text)

        // And it answers: the one earlier id is found, the new ones are not.
        let found = try await store.seen(keys, logger: logger)
        XCTAssertEqual(found, [DedupStore.Key(partition: 1, messageId: "earlier-7")])
        try await testDatabase.drop()
    }
}

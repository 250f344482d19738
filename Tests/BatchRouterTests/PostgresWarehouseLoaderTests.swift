import EventModel
import Logging
import PostgresNIO
import Storage
import StorageTesting
import Warehouse
import WarehousePostgres
import XCTest

/// Loads into a real Postgres through `PostgresWarehouseLoader`, the loader the batch-router uses
/// for `type: postgres` destinations.
final class PostgresWarehouseLoaderTests: XCTestCase {
    var testDatabase: TestDatabase!
    var loader: PostgresWarehouseLoader!
    let builder = RowBuilder()

    override func setUp() async throws {
        testDatabase = try await TestDatabase.make(logger: TestSupport.logger)
        loader = PostgresWarehouseLoader(
            configuration: .init(server: testDatabase.configuration, schema: "analytics"), logger: TestSupport.logger)
    }

    override func tearDown() async throws {
        try await testDatabase?.drop()
    }

    func rows(_ events: [JSON], loadedAt: Int64 = 1_796_000_000_000) throws -> [WarehouseRow] {
        try events.flatMap { try builder.rows(for: $0, loadedAt: loadedAt) }
    }

    func query<T: PostgresDecodable & Sendable>(_ sql: String, as: T.Type = T.self) async throws -> [T] {
        let rows = try await testDatabase.database.client.query(PostgresQuery(unsafeSQL: sql), logger: TestSupport.logger)
        var values: [T] = []
        for try await value in rows.decode(T.self) { values.append(value) }
        return values
    }

    func testTablesGrowColumnsOverBatchesAndValuesThatDoNotFitGoToDiscards() async throws {
        // Batch 1: revenue is a number.
        let first = try await loader.load(rows([
            TestSupport.track("m1", properties: ["revenue": 10, "currency": "EUR"]),
            TestSupport.track("m2", properties: ["revenue": 12]),
        ]))
        XCTAssertEqual(first.tables.map(\.name), ["order_completed", "tracks"])
        XCTAssertEqual(first.discards, 0)

        // Batch 2: a new nested field appears; revenue arrives as text that is not a number.
        let second = try await loader.load(rows([
            TestSupport.track("m3", properties: ["revenue": "lots", "coupon": ["code": "XMAS"]]),
        ]))
        XCTAssertEqual(second.discards, 1)
        XCTAssertEqual(second.tables.first { $0.name == "order_completed" }?.addedColumns, 1, "coupon_code")

        // Batch 3: a new event name makes a new table.
        _ = try await loader.load(rows([TestSupport.track("m4", event: "Product Viewed", properties: ["sku": "p1"])]))

        let columns = try await query(
            "SELECT column_name || ':' || data_type FROM information_schema.columns WHERE table_schema = 'analytics' AND table_name = 'order_completed' ORDER BY 1",
            as: String.self)
        XCTAssertTrue(columns.contains("revenue:bigint"), "\(columns)")
        XCTAssertTrue(columns.contains("coupon_code:text"), "\(columns)")
        XCTAssertTrue(columns.contains("currency:text"))
        XCTAssertTrue(columns.contains("received_at:timestamp with time zone"))
        XCTAssertTrue(columns.contains("context_library_name:text"))

        let revenues = try await query(
            "SELECT id || '=' || coalesce(revenue::text, 'null') FROM analytics.order_completed ORDER BY id", as: String.self)
        XCTAssertEqual(revenues, ["m1=10", "m2=12", "m3=null"])
        let coupon = try await query("SELECT coupon_code FROM analytics.order_completed WHERE id = 'm3'", as: String.self)
        XCTAssertEqual(coupon, ["XMAS"])
        let discards = try await query(
            "SELECT table_name || '|' || column_name || '|' || row_id || '|' || value || '|' || column_type || '|' || (received_at IS NOT NULL) FROM analytics.keel_discards",
            as: String.self)
        XCTAssertEqual(discards, ["order_completed|revenue|m3|lots|bigint|true"])
        let tracks = try await query("SELECT count(*)::int4 FROM analytics.tracks", as: Int32.self)
        XCTAssertEqual(tracks, [4])
        let viewed = try await query("SELECT sku FROM analytics.product_viewed", as: String.self)
        XCTAssertEqual(viewed, ["p1"])
    }

    func testValuesRoundTripThroughCopy() async throws {
        _ = try await loader.load(rows([
            TestSupport.track("v1", properties: [
                "note": "tab\there\nnew line \\ back\\slash ü \u{0}nul", "delta": -42, "zero": 0, "big": .int(Int64.max),
                "flag": true, "off": false, "ratio": 0.25, "when": "2026-11-29T10:00:00.123Z", "list": [1, "a"],
            ]),
        ]))
        let values = try await query(
            """
            SELECT note || '|' || delta || '|' || zero || '|' || big || '|' || flag || '|' || "off" || '|' || ratio || '|' ||
                to_char(_when AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.MS') || '|' || list
            FROM analytics.order_completed
            """, as: String.self)
        XCTAssertEqual(values, [
            "tab\there\nnew line \\ back\\slash ü nul|-42|0|\(Int64.max)|true|false|0.25|2026-11-29 10:00:00.123|[1,\"a\"]"
        ])
    }

    /// A name the binary COPY statement cannot carry (not plain `[a-z0-9_]`) sends the rows in text
    /// format instead; they arrive the same, in chunks like the binary ones.
    func testRowsWithANameOutsideTheBinaryStatementGoInTextFormat() async throws {
        let note = String(repeating: "x", count: 300)
        let input = (0..<1_000).map { index in
            WarehouseRow(
                table: "odd_events", id: "id-\(index)",
                columns: ["id": .text("id-\(index)"), "Mixed Case": .int(Int64(index)), "note": .text(note)])
        }
        _ = try await loader.load(input)
        let sums = try await query(#"SELECT sum("Mixed Case")::int8 FROM analytics.odd_events"#, as: Int64.self)
        XCTAssertEqual(sums, [499_500])
        let counts = try await query("SELECT count(*)::int8 FROM analytics.odd_events WHERE note = '\(note)'", as: Int64.self)
        XCTAssertEqual(counts, [1_000], "~300 KB of rows, more than one chunk")
    }

    func testUsersKeepTheLatestTraitsByReceivedAt() async throws {
        _ = try await loader.load(rows([
            TestSupport.identify("i1", user: "u1", traits: ["plan": "free", "email": "a@example.com"], receivedAt: "2026-11-29T10:00:00.000Z"),
        ]))
        // A newer identify changes the plan and adds a trait; it does not carry email.
        _ = try await loader.load(rows([
            TestSupport.identify("i2", user: "u1", traits: ["plan": "pro", "company": "Acme"], receivedAt: "2026-11-29T11:00:00.000Z"),
        ]))
        // An older identify arriving late must not undo the newer plan, but fills an empty trait.
        _ = try await loader.load(rows([
            TestSupport.identify("i0", user: "u1", traits: ["plan": "trial", "country": "FR"], receivedAt: "2026-11-29T09:00:00.000Z"),
        ]))
        let user = try await query(
            "SELECT plan || '|' || email || '|' || company || '|' || country || '|' || to_char(received_at AT TIME ZONE 'UTC', 'HH24:MI') FROM analytics.users WHERE id = 'u1'",
            as: String.self)
        XCTAssertEqual(user, ["pro|a@example.com|Acme|FR|11:00"])
        let users = try await query("SELECT count(*)::int4 FROM analytics.users", as: Int32.self)
        XCTAssertEqual(users, [1])
        let identifies = try await query("SELECT count(*)::int4 FROM analytics.identifies", as: Int32.self)
        XCTAssertEqual(identifies, [3], "every identify is its own row")
    }

    func testAReplayedBatchAddsNothing() async throws {
        let batch = try rows([
            TestSupport.track("m1", properties: ["revenue": 10]),
            TestSupport.track("m2", properties: ["revenue": "n/a"]),
            TestSupport.identify("i1", user: "u1", traits: ["plan": "free"], receivedAt: "2026-11-29T10:00:00.000Z"),
            ["type": "page", "messageId": "p1", "anonymousId": "a1", "name": "Home", "receivedAt": "2026-11-29T10:00:00.000Z"],
        ])
        _ = try await loader.load(batch)
        let before = try await counts()
        // The same batch again, also through a fresh loader (a restarted process: no schema cache).
        _ = try await loader.load(batch)
        let fresh = PostgresWarehouseLoader(configuration: loader.configuration, logger: TestSupport.logger)
        _ = try await fresh.load(try rows([
            TestSupport.track("m1", properties: ["revenue": 10]), TestSupport.track("m2", properties: ["revenue": "n/a"]),
        ], loadedAt: 1_796_000_100_000))
        let after = try await counts()
        XCTAssertEqual(before, after)
        XCTAssertEqual(after, ["identifies": 1, "keel_discards": 1, "order_completed": 2, "pages": 1, "tracks": 2, "users": 1])
    }

    func testAFailedLoadLeavesNothingBehind() async throws {
        _ = try await loader.load(rows([TestSupport.track("m1", properties: ["revenue": 10])]))
        // Someone changes a column by hand so that our merge fails midway (after tracks loaded).
        try await testDatabase.database.client.query(
            "ALTER TABLE analytics.tracks ADD CONSTRAINT no_more CHECK (id < 'm2')", logger: TestSupport.logger)
        let batch = try rows([TestSupport.track("m2", event: "Signed Up", properties: ["plan": "pro"])])
        do throws(WarehouseLoadError) {
            _ = try await loader.load(batch)
            XCTFail("the load should fail")
        } catch {
            XCTAssertEqual(error.code, .statement)
            XCTAssertFalse(error.description.contains("pro"), "no row values in errors")
        }
        let tables = try await query(
            "SELECT table_name::text FROM information_schema.tables WHERE table_schema = 'analytics' ORDER BY 1", as: String.self)
        XCTAssertEqual(tables, ["order_completed", "tracks"], "signed_up was created inside the rolled-back transaction")
    }

    func counts() async throws -> [String: Int] {
        let tables = try await query(
            "SELECT table_name::text FROM information_schema.tables WHERE table_schema = 'analytics'", as: String.self)
        var counts: [String: Int] = [:]
        for table in tables {
            counts[table] = Int(try await query("SELECT count(*)::int4 FROM analytics.\(table)", as: Int32.self)[0])
        }
        return counts
    }
}

import EventModel
import Foundation
import Warehouse
import XCTest

@testable import WarehouseSnowflake

/// The loader against the local SQL API server and moto's S3 (`KEEL_TEST_S3_ENDPOINT`).
final class SnowflakeLoaderTests: XCTestCase {
    let builder = RowBuilder(naming: WarehouseNaming(maxLength: 255))
    let loadedAt: Int64 = 1_795_953_600_000

    func rows(_ events: [String]) throws -> [WarehouseRow] {
        try events.flatMap { try builder.rows(for: JSON(parsing: $0), loadedAt: loadedAt) }
    }

    func order(_ id: String, total: String, extra: String = "") -> String {
        """
        {"type":"track","event":"Order Completed","messageId":"\(id)","anonymousId":"anon-1","userId":"u1",
         "receivedAt":"2026-11-29T12:00:00.123Z","timestamp":"2026-11-29T12:00:00.000Z",
         "properties":{"total":\(total),"currency":"EUR","paid":true\(extra)}}
        """
    }

    let identify = """
        {"type":"identify","messageId":"m-identify","userId":"u1","receivedAt":"2026-11-29T12:00:01.000Z",
         "traits":{"email":"ada@example.com","plan":{"name":"pro"}}}
        """

    /// The NDJSON lines moto holds for the COPY whose staging table is `staging`.
    func stagedLines(_ fixture: Fixture, staging: String) async throws -> [JSON] {
        let copy = try XCTUnwrap(fixture.server.state.withLock { $0.copies }.last { $0.staging == staging })
        let prefix = "'s3://\(fixture.configuration.s3.bucket)/"
        XCTAssertTrue(copy.source.hasPrefix(prefix), copy.source)
        let key = String(copy.source.dropFirst(prefix.count).prefix { $0 != "'" })
        XCTAssertTrue(key.hasPrefix("snowflake/stage/2026-11-29/"), "staged under the configured prefix: \(key)")
        let body = try await fixture.s3.get(key: key)
        return try String(decoding: body, as: UTF8.self).split(separator: "\n").map { try JSON(parsing: String($0)) }
    }

    func testFirstLoadCreatesTablesThenCopiesAndMergesInOneTransaction() async throws {
        let fixture = try await Fixture.start()
        defer { Task { await fixture.server.stop() } }
        fixture.server.state.withLock {
            $0.asyncPattern = "MERGE INTO"  // the data request answers 202 and is polled
            $0.pollsBeforeDone = 2
        }
        let summary = try await fixture.loader().load(try rows([order("m-1", total: "12"), order("m-2", total: "30"), identify]))

        XCTAssertEqual(summary.tables.map(\.name), ["identifies", "order_completed", "tracks", "users"])
        XCTAssertEqual(summary.tables.first { $0.name == "order_completed" }?.rows, 2)
        XCTAssertEqual(summary.discards, 0)
        let state = fixture.server.state.withLock { $0 }
        XCTAssertEqual(state.rejected, [])
        XCTAssertGreaterThanOrEqual(state.polls, 3, "polled through two 202s")
        // Tables and typed columns exist in the server's catalog, upper-cased.
        XCTAssertEqual(Set(state.tables.keys), ["IDENTIFIES", "ORDER_COMPLETED", "TRACKS", "USERS"])
        let orders = try XCTUnwrap(state.tables["ORDER_COMPLETED"])
        XCTAssertEqual(orders["ID"], "TEXT")
        XCTAssertEqual(orders["TOTAL"], "NUMBER")
        XCTAssertEqual(orders["PAID"], "BOOLEAN")
        XCTAssertEqual(orders["CURRENCY"], "TEXT")
        XCTAssertEqual(orders["RECEIVED_AT"], "TIMESTAMP_TZ")
        XCTAssertEqual(state.tables["USERS"]?["PLAN_NAME"], "TEXT")

        // Statement order: DDL, then staging tables, BEGIN, COPY + MERGE per table, COMMIT.
        let statements = state.statements
        let begin = try XCTUnwrap(statements.firstIndex(of: "BEGIN TRANSACTION"))
        XCTAssertEqual(statements.last, "COMMIT")
        let lastCreate = try XCTUnwrap(statements.lastIndex { $0.hasPrefix("CREATE TABLE IF NOT EXISTS") })
        XCTAssertLessThan(lastCreate, begin, "DDL commits implicitly, so it runs before the transaction")
        let copies = statements.indices.filter { statements[$0].hasPrefix("COPY INTO") }
        let merges = statements.indices.filter { statements[$0].hasPrefix("MERGE INTO") }
        XCTAssertEqual(copies.count, 4)
        XCTAssertEqual(merges.count, 4)
        XCTAssertTrue(copies.allSatisfy { $0 > begin } && merges.allSatisfy { $0 > begin })
        let ordersMerge = try XCTUnwrap(statements.first { $0.hasPrefix("MERGE INTO \"ANALYTICS\".\"KEEL\".\"ORDER_COMPLETED\"") })
        XCTAssertTrue(ordersMerge.contains("ON t.\"ID\" = s.\"ID\""))
        XCTAssertTrue(ordersMerge.contains("WHEN MATCHED THEN UPDATE SET"))
        XCTAssertTrue(ordersMerge.contains("\"TOTAL\" = s.\"TOTAL\""))
        let usersMerge = try XCTUnwrap(statements.first { $0.hasPrefix("MERGE INTO \"ANALYTICS\".\"KEEL\".\"USERS\"") })
        XCTAssertTrue(usersMerge.contains("COALESCE(s.\"EMAIL\", t.\"EMAIL\")"), "users keep present traits: \(usersMerge)")
        XCTAssertTrue(state.copies.allSatisfy(\.hasCredentials))

        // The staged file of the orders table holds the flattened, typed rows.
        let stagingName = "KEEL_STAGE_1"  // tables in name order: identifies, order_completed, …
        let lines = try await stagedLines(fixture, staging: stagingName)
        XCTAssertEqual(lines.compactMap { $0["id"]?.stringValue }.sorted(), ["m-1", "m-2"])
        XCTAssertEqual(lines.first { $0["id"]?.stringValue == "m-2" }?["total"], .int(30))
        XCTAssertEqual(lines.first?["paid"], .bool(true))
        XCTAssertEqual(lines.first?["received_at"]?.stringValue?.hasPrefix("2026-11-29T12:00:00.123"), true)

        // The server read those files (types checked as COPY converts JSON) and merged them.
        XCTAssertEqual(state.rows["ORDER_COMPLETED"]?.keys.sorted(), ["m-1", "m-2"])
        XCTAssertEqual(state.rows["ORDER_COMPLETED"]?["m-2"]?["TOTAL"], .int(30))
        XCTAssertEqual(state.rows["USERS"]?["u1"]?["EMAIL"], .string("ada@example.com"))
        XCTAssertEqual(state.rows["TRACKS"]?.count, 2)
    }

    func testAReplayedBatchMergesOntoTheSameIds() async throws {
        let fixture = try await Fixture.start()
        defer { Task { await fixture.server.stop() } }
        let batch = try rows([order("m-1", total: "12"), order("m-2", total: "30")])
        _ = try await fixture.loader().load(batch)
        _ = try await fixture.loader().load(batch)  // a crash before the offset was stored replays it
        let state = fixture.server.state.withLock { $0 }
        XCTAssertEqual(state.rows["ORDER_COMPLETED"]?.count, 2)
        XCTAssertEqual(state.rows["TRACKS"]?.count, 2)
        XCTAssertEqual(state.copies.count, 4, "each load copied its own files")
        XCTAssertEqual(Set(state.copies.map(\.source)).count, 4, "in a directory of its own")
    }

    func testSecondBatchWithANewFieldAddsTheColumn() async throws {
        let fixture = try await Fixture.start()
        defer { Task { await fixture.server.stop() } }
        _ = try await fixture.loader().load(try rows([order("m-1", total: "12")]))
        let before = fixture.server.state.withLock { $0.statements.count }

        // A new loader reads the schema back from information_schema (no cache).
        let summary = try await fixture.loader().load(try rows([order("m-3", total: "5", extra: #","coupon":"XMAS""#)]))
        let state = fixture.server.state.withLock { $0 }
        let second = Array(state.statements[before...])
        XCTAssertTrue(second.first?.hasPrefix("SELECT table_name, column_name, data_type FROM") == true)
        XCTAssertEqual(
            second.filter { $0.hasPrefix("ALTER TABLE") },
            ["ALTER TABLE \"ANALYTICS\".\"KEEL\".\"ORDER_COMPLETED\" ADD COLUMN IF NOT EXISTS \"COUPON\" VARCHAR"])
        XCTAssertFalse(second.contains { $0.hasPrefix("CREATE TABLE") }, "existing tables are not created again")
        XCTAssertEqual(state.tables["ORDER_COMPLETED"]?["COUPON"], "TEXT")
        XCTAssertTrue(second.contains { $0.hasPrefix("MERGE INTO \"ANALYTICS\".\"KEEL\".\"ORDER_COMPLETED\"") && $0.contains("s.\"COUPON\"") })
        XCTAssertEqual(summary.tables.first { $0.name == "order_completed" }?.addedColumns, 1)
    }

    func testAValueThatDoesNotFitItsColumnIsDiscarded() async throws {
        let fixture = try await Fixture.start()
        defer { Task { await fixture.server.stop() } }
        let loader = try fixture.loader()
        _ = try await loader.load(try rows([order("m-1", total: "12")]))
        let summary = try await loader.load(try rows([order("m-2", total: #""twelve""#)]))

        XCTAssertEqual(summary.discards, 1)
        let state = fixture.server.state.withLock { $0 }
        XCTAssertEqual(state.tables["ORDER_COMPLETED"]?["TOTAL"], "NUMBER", "the column keeps its type")
        XCTAssertNotNil(state.tables["KEEL_DISCARDS"])
        XCTAssertTrue(state.statements.contains { $0.hasPrefix("MERGE INTO \"ANALYTICS\".\"KEEL\".\"KEEL_DISCARDS\"") })
        let discards = try await stagedLines(fixture, staging: "KEEL_STAGE_DISCARDS")
        XCTAssertEqual(discards.count, 1)
        XCTAssertEqual(discards.first?["table_name"]?.stringValue, "order_completed")
        XCTAssertEqual(discards.first?["column_name"]?.stringValue, "total")
        XCTAssertEqual(discards.first?["row_id"]?.stringValue, "m-2")
        XCTAssertEqual(discards.first?["value"]?.stringValue, "twelve")
        // The row itself is loaded without the value.
        let orders = try await stagedLines(fixture, staging: "KEEL_STAGE_0")
        XCTAssertEqual(orders.first { $0["id"]?.stringValue == "m-2" }?["total"], nil)
        XCTAssertEqual(state.rows["KEEL_DISCARDS"]?.count, 1)
        XCTAssertEqual(state.rows["ORDER_COMPLETED"]?["m-2"]?["TOTAL"], nil)
        XCTAssertEqual(state.rows["ORDER_COMPLETED"]?["m-1"]?["TOTAL"], .int(12))
    }

    func testFailuresAreTypedAndNeverShowSecrets() async throws {
        let fixture = try await Fixture.start()
        defer { Task { await fixture.server.stop() } }
        // The server echoes the COPY statement (with its AWS secret) in a compilation error.
        fixture.server.state.withLock {
            $0.failures = [.init(pattern: "COPY INTO", status: 422, code: "001003", message: "SQL compilation error", echoStatement: true)]
        }
        let loader = try fixture.loader()
        let batch = try rows([order("m-1", total: "12")])
        do {
            _ = try await loader.load(batch)
            XCTFail("expected the load to fail")
        } catch {
            XCTAssertEqual(error.code, .statement)
            XCTAssertTrue(error.description.contains("001003"), error.description)
            XCTAssertTrue(error.description.contains("[redacted]"), "the secret was in the message and was removed")
            XCTAssertFalse(error.description.contains(testSecretAccessKey))
            XCTAssertTrue(fixture.server.state.withLock { $0.statements.contains { $0.contains(testSecretAccessKey) } }, "COPY did carry it")
        }
        // A throttled or failing server is retryable; the next load succeeds.
        fixture.server.state.withLock { $0.failures = [.init(pattern: "MERGE INTO", status: 503, code: "000000", message: "Service unavailable")] }
        do {
            _ = try await loader.load(batch)
            XCTFail("expected the load to fail")
        } catch {
            XCTAssertEqual(error.code, .unavailable)
            XCTAssertTrue(error.isRetryable)
        }
        fixture.server.state.withLock { $0.failures = [] }
        let before = fixture.server.state.withLock { $0.statements.count }
        let summary = try await loader.load(try rows([order("m-1", total: "12")]))
        XCTAssertEqual(summary.rows, 2)
        let after = fixture.server.state.withLock { Array($0.statements[before...]) }
        XCTAssertTrue(after.first?.hasPrefix("SELECT table_name") == true, "a failed load forgets the cached schema")
    }

    func testAnUnreachableStageFailsRetryablyBeforeAnyData() async throws {
        let fixture = try await Fixture.start(s3: false)  // the bucket's endpoint is a closed port
        defer { Task { await fixture.server.stop() } }
        let loader = try fixture.loader()
        let batch = try rows([order("m-1", total: "12")])
        do {
            _ = try await loader.load(batch)
            XCTFail("expected the load to fail")
        } catch {
            XCTAssertEqual(error.code, .unavailable)
            XCTAssertTrue(error.isRetryable)
            XCTAssertTrue(error.description.contains("stage upload"), error.description)
        }
        let statements = fixture.server.state.withLock { $0.statements }
        XCTAssertEqual(statements.count, 1, "only the schema was read: \(statements)")
    }
}

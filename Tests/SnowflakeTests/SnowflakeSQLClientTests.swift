import AsyncHTTPClient
import EventModel
import Foundation
import Logging
import NIOCore
import XCTest

@testable import WarehouseSnowflake

/// The SQL client against the local server (no S3 needed).
final class SnowflakeSQLClientTests: XCTestCase {
    func testServerRejectsATokenSignedWithAnotherKey() async throws {
        let fixture = try await Fixture.start(privateKey: try keys().other.privateKeyPEM, s3: false)
        defer { Task { await fixture.server.stop() } }
        let client = try fixture.client()
        do {
            _ = try await client.query("SELECT 1")
            XCTFail("expected a refusal")
        } catch {
            XCTAssertEqual(error.code, .authentication)
            XCTAssertEqual(error.httpStatus, 401)
            XCTAssertEqual(error.snowflakeCode, "390144")
            XCTAssertFalse(error.isRetryable)
        }
        let state = fixture.server.state.withLock { $0 }
        XCTAssertEqual(state.statements, [], "nothing ran")
        // Refused twice: the client signs a fresh token once after a 401.
        XCTAssertEqual(state.rejected, Array(repeating: "signature does not verify with the user's public key", count: 2))
    }

    func testServerRejectsRequestsWithoutTheDocumentedHeaders() async throws {
        let fixture = try await Fixture.start(s3: false)
        defer { Task { await fixture.server.stop() } }
        let token = try fixture.client().jwt.token()
        var request = HTTPClientRequest(url: fixture.server.baseURL + "/api/v2/statements?requestId=1")
        request.method = .POST
        request.headers.add(name: "Authorization", value: "Bearer \(token)")
        request.headers.add(name: "Accept", value: "application/json")
        request.headers.add(name: "User-Agent", value: "test/1")
        request.body = .bytes(ByteBuffer(string: #"{"statement":"SELECT 1"}"#))
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
        XCTAssertEqual(response.status.code, 401, "KEYPAIR_JWT token type header missing")
        XCTAssertEqual(fixture.server.state.withLock { $0.rejected }, ["X-Snowflake-Authorization-Token-Type is not KEYPAIR_JWT"])
    }

    func testBindingsAndResultRows() async throws {
        let fixture = try await Fixture.start(s3: false)
        defer { Task { await fixture.server.stop() } }
        let client = try fixture.client()
        _ = try await client.query(#"CREATE TABLE IF NOT EXISTS "ANALYTICS"."KEEL"."TRACKS" ("ID" VARCHAR NOT NULL PRIMARY KEY, "N" NUMBER(38,0))"#)
        let sql = SnowflakeSQL(database: "ANALYTICS", schema: "KEEL")
        let result = try await client.query(sql.schemaQuery, bindings: [.text("KEEL")])
        XCTAssertEqual(result.columns, ["TABLE_NAME", "COLUMN_NAME", "DATA_TYPE"])
        XCTAssertEqual(result.rows, [["TRACKS", "ID", "TEXT"], ["TRACKS", "N", "NUMBER"]])
        // The server counts placeholders: a query without its binding is refused as a statement error.
        do {
            _ = try await client.query(sql.schemaQuery)
            XCTFail("expected an error")
        } catch {
            XCTAssertEqual(error.code, .statement)
            XCTAssertEqual(error.snowflakeCode, "002049")
            XCTAssertFalse(error.isRetryable)
        }
    }

    func testReadsEveryPartitionOfALargeResult() async throws {
        let fixture = try await Fixture.start(s3: false)
        defer { Task { await fixture.server.stop() } }
        let client = try fixture.client()
        let columns = (0..<25).map { "\"C\($0)\" VARCHAR" }.joined(separator: ", ")
        _ = try await client.query("CREATE TABLE IF NOT EXISTS \"ANALYTICS\".\"KEEL\".\"WIDE\" (\(columns))")
        fixture.server.state.withLock { $0.partitionSize = 10 }
        let sql = SnowflakeSQL(database: "ANALYTICS", schema: "KEEL")
        let result = try await client.query(sql.schemaQuery, bindings: [.text("KEEL")])
        XCTAssertEqual(result.rows.count, 25)
        XCTAssertEqual(Set(result.rows.compactMap { $0[1] }).count, 25)
        XCTAssertEqual(fixture.server.state.withLock { $0.partitionRequests }, 2)
    }

    func testCompilationErrorIsNotRetryableAndCarriesCodeAndSQLState() async throws {
        let fixture = try await Fixture.start(s3: false)
        defer { Task { await fixture.server.stop() } }
        let client = try fixture.client()
        do {
            _ = try await client.query(#"ALTER TABLE "ANALYTICS"."KEEL"."NOPE" ADD COLUMN IF NOT EXISTS "X" VARCHAR"#)
            XCTFail("expected an error")
        } catch {
            XCTAssertEqual(error.code, .statement)
            XCTAssertEqual(error.httpStatus, 422)
            XCTAssertEqual(error.snowflakeCode, "002003")
            XCTAssertEqual(error.sqlState, "42S02")
            XCTAssertFalse(error.isRetryable)
            XCTAssertFalse(error.description.contains("Bearer"))
        }
    }

    func testThrottlingIsRetryableAndAStatementPastTheDeadlineTimesOut() async throws {
        let fixture = try await Fixture.start(s3: false)
        defer { Task { await fixture.server.stop() } }
        fixture.server.state.withLock { $0.failures = [.init(pattern: "SLOW", status: 429, code: "000610", message: "Too many requests")] }
        let throttled = try fixture.client()
        do {
            _ = try await throttled.query(#"CREATE SCHEMA IF NOT EXISTS "ANALYTICS"."KEEL" /* SLOW */"#)
            XCTFail("expected an error")
        } catch {
            XCTAssertEqual(error.code, .unavailable)
            XCTAssertTrue(error.isRetryable)
        }
        fixture.server.state.withLock {
            $0.failures = []
            $0.asyncPattern = "CREATE SCHEMA"
            $0.pollsBeforeDone = 1_000_000
        }
        var configuration = fixture.configuration
        configuration.deadline = .milliseconds(600)
        var client = try SnowflakeSQLClient(configuration: configuration, httpClient: .shared, logger: Logger(label: "test"))
        client.initialPollInterval = .milliseconds(20)
        let started = ContinuousClock.now
        do {
            _ = try await client.query(#"CREATE SCHEMA IF NOT EXISTS "ANALYTICS"."KEEL""#)
            XCTFail("expected a timeout")
        } catch {
            XCTAssertEqual(error.code, .timeout)
            XCTAssertTrue(error.isRetryable)
            XCTAssertNotNil(error.statementHandle)
        }
        XCTAssertLessThan(ContinuousClock.now - started, .seconds(3))
        XCTAssertGreaterThan(fixture.server.state.withLock { $0.polls }, 2)
    }
}

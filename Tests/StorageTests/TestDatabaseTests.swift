import Storage
import StorageTesting
import XCTest

final class TestDatabaseTests: XCTestCase {
    func testMissingServerSkipsUnlessServicesAreRequired() {
        XCTAssertThrowsError(try TestDatabase.adminConfiguration(environment: [:])) { error in
            XCTAssertTrue(error is XCTSkip, "\(error)")
        }
        XCTAssertThrowsError(try TestDatabase.adminConfiguration(environment: ["KEEL_REQUIRE_SERVICES": "1"])) { error in
            XCTAssertEqual((error as? StorageError)?.code, .missingTestDatabase)
        }
        XCTAssertEqual(
            try TestDatabase.adminConfiguration(environment: ["KEEL_TEST_DATABASE_URL": "postgres://a@h:7/d"]).port, 7)
    }

    func testEachTestGetsAFreshDatabaseThatDropRemoves() async throws {
        let first = try await TestDatabase.make()
        let second = try await TestDatabase.make()
        XCTAssertNotEqual(first.name, second.name)
        try await first.database.client.query("CREATE TABLE only_in_first (x int)")
        let visible = try await second.database.client.query(
            "SELECT count(*)::int FROM pg_tables WHERE tablename = 'only_in_first'")
        for try await count in visible.decode(Int.self) { XCTAssertEqual(count, 0) }
        let name = first.name
        try await first.drop()
        try await second.drop()

        let admin = try TestDatabase.adminConfiguration()
        let remaining = try await Database.withDatabase(configuration: admin, logger: .init(label: "t")) { server in
            var count = 0
            for try await value in try await server.client.query(
                "SELECT count(*)::int FROM pg_database WHERE datname = \(name)"
            ).decode(Int.self) { count = value }
            return count
        }
        XCTAssertEqual(remaining, 0)
    }
}

import Storage
import XCTest

final class DatabaseConfigurationTests: XCTestCase {
    func testParsesEveryPartOfTheURL() throws {
        let configuration = try DatabaseConfiguration(
            url: "postgres://app:s3cr%40t@db.internal:6543/events?sslmode=require&max_connections=7&connect_timeout=3")
        XCTAssertEqual(configuration.host, "db.internal")
        XCTAssertEqual(configuration.port, 6543)
        XCTAssertEqual(configuration.username, "app")
        XCTAssertEqual(configuration.password, "s3cr@t")
        XCTAssertEqual(configuration.database, "events")
        XCTAssertEqual(configuration.tls, .require)
        XCTAssertEqual(configuration.maximumConnections, 7)
        XCTAssertEqual(configuration.connectTimeout, .seconds(3))
    }

    func testDefaultsForAMinimalURL() throws {
        let loopback = try DatabaseConfiguration(url: "postgresql://keel@127.0.0.1/keel")
        XCTAssertEqual(loopback.port, 5432)
        XCTAssertNil(loopback.password)
        XCTAssertEqual(loopback.tls, .disable, "loopback needs no TLS by default")
        XCTAssertEqual(loopback.maximumConnections, 20)

        let remote = try DatabaseConfiguration(url: "postgres://keel@db.example.com")
        XCTAssertEqual(remote.tls, .prefer)
        XCTAssertEqual(remote.database, "keel", "the database defaults to the user name, like libpq")
    }

    func testDescriptionMasksThePassword() throws {
        let configuration = try DatabaseConfiguration(url: "postgres://app:hunter2@db:5432/events")
        XCTAssertFalse("\(configuration)".contains("hunter2"))
        XCTAssertTrue("\(configuration)".contains("***"))
        XCTAssertTrue(configuration.url.contains("hunter2"), "the url itself keeps the password to connect")
        XCTAssertEqual(try DatabaseConfiguration(url: configuration.url), configuration)
    }

    func testErrorsNeverEchoTheURL() {
        for url in ["mysql://app:hunter2@db/x", "postgres://app:hunter2@db/x?sslmode=sometimes", "hunter2"] {
            XCTAssertThrowsError(try DatabaseConfiguration(url: url)) { error in
                XCTAssertEqual((error as? StorageError)?.code, .invalidURL)
                XCTAssertFalse("\(error)".contains("hunter2"), "\(error)")
            }
        }
    }

    func testEnvironmentDefaultAndOverride() throws {
        let fallback = try DatabaseConfiguration(environment: [:])
        XCTAssertEqual(fallback, try DatabaseConfiguration(url: "postgres://keel@127.0.0.1:5432/keel"))
        let set = try DatabaseConfiguration(environment: ["KEEL_DATABASE_URL": "postgres://a@h:1/d"])
        XCTAssertEqual(set.host, "h")
        XCTAssertEqual(set.port, 1)
    }

    func testWithDatabaseKeepsTheServer() throws {
        let admin = try DatabaseConfiguration(url: "postgres://root:pw@h:5/postgres")
        let other = admin.withDatabase("keel_test_x")
        XCTAssertEqual(other.database, "keel_test_x")
        XCTAssertEqual(other.password, "pw")
        XCTAssertEqual(other.host, "h")
    }
}

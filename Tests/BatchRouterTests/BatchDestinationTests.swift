import BatchRouterService
import EventModel
import WorkspaceConfig
import XCTest

/// Destination settings as written in the workspace file.
final class BatchDestinationTests: XCTestCase {
    func destination(_ type: String, _ config: JSON) -> Destination {
        Destination(id: "d1", name: "D1", type: type, config: config)
    }

    func testSettingsDefaultsAndSecretsFromTheEnvironment() throws {
        let secrets = SecretResolver(environment: ["S3_SECRET": "s3cr3t", "PG_PASSWORD": "pw"])
        let s3 = try BatchDestination(
            destination("s3", ["bucket": "lake", "prefix": "/raw/", "accessKeyId": "AK", "secretAccessKey": "${S3_SECRET}"]),
            secrets: secrets)
        XCTAssertEqual(s3.uploadInterval, .seconds(300), "object storage defaults to 5 minutes")
        guard case .s3(let target) = s3.target else { return XCTFail("\(s3.target)") }
        XCTAssertEqual(target.prefix, "raw")
        XCTAssertEqual(target.region, "us-east-1")
        XCTAssertEqual(target.secretAccessKey, "s3cr3t")

        let postgres = try BatchDestination(
            destination("postgres", [
                "host": "db.internal", "port": "6543", "database": "dw", "user": "loader", "password": "${PG_PASSWORD}",
                "schema": "analytics", "uploadInterval": "10m",
            ]), secrets: secrets)
        XCTAssertEqual(postgres.uploadInterval, .seconds(600))
        XCTAssertTrue(postgres.isWarehouse)
        guard case .postgres(let warehouse) = postgres.target else { return XCTFail() }
        XCTAssertEqual(warehouse.server.port, 6543)
        XCTAssertEqual(warehouse.server.password, "pw")
        XCTAssertEqual(warehouse.schema, "analytics")
        XCTAssertFalse(warehouse.description.contains("pw"), "the location never shows the password")

        let local = try BatchDestination(destination("local_storage", ["path": "/tmp/x"]), secrets: secrets)
        XCTAssertFalse(local.isWarehouse)
        let warehouseDefault = try BatchDestination(
            destination("postgres", ["host": "h", "database": "d", "user": "u"]), secrets: secrets)
        XCTAssertEqual(warehouseDefault.uploadInterval, .seconds(1800), "warehouses default to 30 minutes")
    }

    func testIntervals() {
        XCTAssertEqual(BatchDestination.parseInterval("10s"), .seconds(10))
        XCTAssertEqual(BatchDestination.parseInterval("5m"), .seconds(300))
        XCTAssertEqual(BatchDestination.parseInterval("3h"), .seconds(10800))
        XCTAssertEqual(BatchDestination.parseInterval("30"), .seconds(1800), "a bare number is minutes")
        XCTAssertNil(BatchDestination.parseInterval("0s"))
        XCTAssertNil(BatchDestination.parseInterval("soon"))
        XCTAssertNil(BatchDestination.parseInterval(""))
    }

    func testProblemsNameTheKeyNeverTheValue() {
        func problem(_ type: String, _ config: JSON, env: [String: String] = [:]) -> String? {
            do throws(BatchDestinationError) {
                _ = try BatchDestination(destination(type, config), secrets: SecretResolver(environment: env))
                return nil
            } catch {
                return error.description
            }
        }
        XCTAssertEqual(problem("s3", ["prefix": "x"]), "bucket: is required")
        XCTAssertEqual(problem("s3", ["bucket": "b", "accessKeyId": "AK"]), "secretAccessKey: is required")
        XCTAssertEqual(problem("postgres", ["host": "h", "database": "d", "user": "u", "schema": "Bad-Name"])?.hasPrefix("schema:"), true)
        XCTAssertEqual(problem("local_storage", ["path": "/x", "uploadInterval": "often"])?.hasPrefix("uploadInterval:"), true)
        let missing = problem("postgres", ["host": "h", "database": "d", "user": "u", "password": "${NOT_SET}"])
        XCTAssertEqual(missing, "config.password: environment variable NOT_SET is not set")
    }

    /// A `type: snowflake` destination goes to the Snowflake loader (docs/snowflake.md).
    func testSnowflakeDestinationsAreRoutedToTheSnowflakeLoader() throws {
        let key = "-----BEGIN PRIVATE KEY-----\\nMIIB\\n-----END PRIVATE KEY-----"
        var config: JSON = [
            "account": "xy12345", "user": "keel_loader", "privateKey": "${SF_KEY}", "warehouse": "loading",
            "database": "analytics", "schema": "keel", "bucket": "stage", "accessKeyId": "AK",
            "secretAccessKey": "${AWS_SECRET}",
        ]
        let secrets = SecretResolver(environment: ["SF_KEY": key, "AWS_SECRET": "s3cr3t"])
        XCTAssertTrue(BatchDestination.types.contains("snowflake"))
        let snowflake = try BatchDestination(destination("snowflake", config), secrets: secrets)
        XCTAssertTrue(snowflake.isWarehouse)
        XCTAssertEqual(snowflake.uploadInterval, .seconds(1800), "warehouses default to 30 minutes")
        guard case .snowflake(let configuration) = snowflake.target else { return XCTFail("\(snowflake.target)") }
        XCTAssertEqual(configuration.location, "snowflake://xy12345/ANALYTICS.KEEL")
        XCTAssertEqual(configuration.s3.secretAccessKey, "s3cr3t")

        config["bucket"] = nil
        do throws(BatchDestinationError) {
            _ = try BatchDestination(destination("snowflake", config), secrets: secrets)
            XCTFail("a snowflake destination without a bucket")
        } catch {
            XCTAssertEqual(error.description, "bucket: is required")
            XCTAssertFalse(error.description.contains("s3cr3t"))
        }
    }

    /// `keel apply` (the workspace parser with the built-in validators) and the batch-router check
    /// a batch destination's settings with the same rules: what one rejects, the other rejects
    /// with the same key; what one accepts, the other accepts.
    func testKeelApplyAndTheBatchRouterAgreeOnSettings() throws {
        let key = "-----BEGIN PRIVATE KEY-----\\nMIIB\\n-----END PRIVATE KEY-----"
        let snowflake: JSON = [
            "account": "xy12345", "user": "keel_loader", "privateKey": .string(key), "warehouse": "loading",
            "database": "analytics", "schema": "keel", "bucket": "stage", "accessKeyId": "AK", "secretAccessKey": "s3cr3t",
        ]
        func without(_ config: JSON, _ key: String) -> JSON {
            guard case .object(var object) = config else { return config }
            object[key] = nil
            return .object(object)
        }
        func with(_ config: JSON, _ key: String, _ value: JSON) -> JSON {
            guard case .object(var object) = config else { return config }
            object[key] = value
            return .object(object)
        }
        let postgres: JSON = ["host": "db", "database": "dw", "user": "loader"]
        let cases: [(type: String, config: JSON, problem: String?)] = [
            ("snowflake", snowflake, nil),
            // Accepted by the old `keel apply` check (it wanted a password or a key), refused by the loader.
            ("snowflake", without(snowflake, "bucket"), "bucket"),
            ("snowflake", without(snowflake, "schema"), "schema"),
            ("snowflake", with(without(snowflake, "privateKey"), "password", "pw"), "privateKey"),
            ("snowflake", with(snowflake, "warehouse", "bad name;"), "warehouse"),
            ("postgres", postgres, nil),
            ("postgres", without(postgres, "user"), "user"),
            ("postgres", ["url": "postgres://db/dw"], "host"),
            ("postgres", with(postgres, "schema", "Bad-Name"), "schema"),
            ("postgres", with(postgres, "sslMode", "sometimes"), "sslMode"),
            ("s3", ["bucket": "lake", "accessKeyId": "AK"], "secretAccessKey"),
            ("s3", ["bucket": "lake", "pathStyle": "maybe"], "pathStyle"),
            ("s3", ["bucket": "lake", "uploadInterval": "often"], "uploadInterval"),
            ("local_storage", ["path": "/tmp/x", "uploadInterval": "30s"], nil),
        ]
        for (index, entry) in cases.enumerated() {
            let routerProblem: String?
            do throws(BatchDestinationError) {
                _ = try BatchDestination(destination(entry.type, entry.config), secrets: SecretResolver(environment: [:]))
                routerProblem = nil
            } catch {
                routerProblem = error.key
            }
            XCTAssertEqual(routerProblem, entry.problem, "case \(index): batch-router")

            let yaml = """
                workspace: w
                destinations:
                  - { id: d, name: D, type: \(entry.type), config: \(entry.config.jsonString) }
                """
            var applyProblems: [String] = []
            do throws(WorkspaceConfigError) {
                _ = try WorkspaceParser(destinationValidators: .builtIn).parse(yaml: yaml)
            } catch {
                applyProblems = error.issues.map(\.path)
            }
            if let problem = entry.problem {
                XCTAssertTrue(applyProblems.contains("destinations[0].config.\(problem)"), "case \(index): keel apply: \(applyProblems)")
            } else {
                XCTAssertEqual(applyProblems, [], "case \(index): keel apply")
            }
            for issue in applyProblems { XCTAssertFalse(issue.contains("s3cr3t")) }
        }
    }
}

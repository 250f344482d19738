import EventModel
import Logging
import ObjectStorage
import XCTest

@testable import WarehouseSnowflake

final class SnowflakeSettingsTests: XCTestCase {
    func config(_ extra: JSONObject = [:]) throws -> JSONObject {
        var config: JSONObject = [
            "account": "xy12345.us-east-2.aws", "user": "keel_loader", "warehouse": "loading", "database": "analytics",
            "schema": "keel", "bucket": "stage-bucket", "prefix": "/sf/", "accessKeyId": "AKID",
            "secretAccessKey": "very-secret-value",
            // As it often arrives from an environment variable: one line with literal \n.
            "privateKey": .string(try keys().user.privateKeyPEM.replacingOccurrences(of: "\n", with: "\\n")),
        ]
        for (key, value) in extra { config[key] = value }
        return config
    }

    func testReadsSettingsAndAcceptsAKeyWithEscapedLineBreaks() throws {
        let configuration = try SnowflakeConfiguration(settings: config())
        XCTAssertEqual(configuration.database, "ANALYTICS")
        XCTAssertEqual(configuration.schema, "KEEL")
        XCTAssertEqual(configuration.prefix, "sf")
        XCTAssertEqual(configuration.baseURL, "https://xy12345.us-east-2.aws.snowflakecomputing.com")
        XCTAssertEqual(configuration.stageAccess, .credentials)
        let jwt = try SnowflakeJWT(account: configuration.account, user: configuration.user, privateKeyPEM: configuration.privateKeyPEM)
        XCTAssertEqual(jwt.publicKeyFingerprint, try keys().user.fingerprint)
        XCTAssertEqual(try SnowflakeConfiguration(settings: config()), configuration)
        XCTAssertNotEqual(try SnowflakeConfiguration(settings: config(["secretAccessKey": "rotated"])), configuration)
        XCTAssertFalse(configuration.description.contains("very-secret-value"))
        XCTAssertFalse(configuration.description.contains("PRIVATE"))
    }

    func testMissingAndConflictingKeysAreNamedWithoutValues() throws {
        var settings = try config(["stage": "KEEL_STAGE", "storageIntegration": "KEEL_S3", "role": "bad role; drop"])
        settings["account"] = nil
        let issues = SnowflakeConfiguration.validate(settings)
        XCTAssertEqual(Set(issues.map(\.key)), ["account", "stage", "role"])
        XCTAssertFalse(issues.description.contains("drop"))
        XCTAssertThrowsError(try SnowflakeConfiguration(settings: settings))
    }

    func testStageAccessDecidesWhetherKeysAppearInCopy() throws {
        let integration = try SnowflakeConfiguration(settings: config(["storageIntegration": "KEEL_S3"]))
        let stage = try SnowflakeConfiguration(settings: config(["stage": "KEEL.PUBLIC.STAGE"]))
        let plain = try SnowflakeConfiguration(settings: config())
        func source(_ configuration: SnowflakeConfiguration) throws -> String {
            let client = try SnowflakeSQLClient(configuration: configuration, httpClient: .shared, logger: Logger(label: "test"))
            let store = try S3Client(configuration: configuration.s3, httpClient: .shared)
            return SnowflakeWarehouseLoader(client: client, store: store, logger: Logger(label: "test")).source("sf/2026-11-29/x/tracks.json")
        }
        XCTAssertEqual(try source(integration), "'s3://stage-bucket/sf/2026-11-29/x/tracks.json' STORAGE_INTEGRATION = KEEL_S3")
        XCTAssertEqual(try source(stage), "@KEEL.PUBLIC.STAGE/sf/2026-11-29/x/tracks.json")
        XCTAssertEqual(
            try source(plain),
            "'s3://stage-bucket/sf/2026-11-29/x/tracks.json' CREDENTIALS = (AWS_KEY_ID = 'AKID' AWS_SECRET_KEY = 'very-secret-value')")
    }

    func testLiteralsEscapeQuotesAndBackslashes() {
        XCTAssertEqual(SnowflakeSQL.literal(#"a'b\c"#), #"'a''b\\c'"#)
        XCTAssertEqual(SnowflakeSQL.identifier("order_completed"), #""ORDER_COMPLETED""#)
    }
}

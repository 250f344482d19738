import AsyncHTTPClient
import Foundation
import Logging
import ObjectStorage
import XCTest

@testable import WarehouseSnowflake

/// An RSA key pair made by the openssl CLI, with the fingerprint computed the way Snowflake's
/// key-pair page does it (`openssl rsa -pubout -outform DER | openssl dgst -sha256 -binary |
/// openssl enc -base64`), independently of the code under test.
struct TestKeyPair {
    var privateKeyPEM: String
    var publicKeyPEM: String
    var fingerprint: String

    static func generate() throws -> TestKeyPair {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("keel-snowflake-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let key = directory.appendingPathComponent("rsa_key.p8").path
        let pub = directory.appendingPathComponent("rsa_key.pub").path
        try shell("openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out '\(key)' 2>/dev/null")
        try shell("openssl pkey -in '\(key)' -pubout -out '\(pub)'")
        let fingerprint = try shell("openssl pkey -pubin -in '\(pub)' -outform DER | openssl dgst -sha256 -binary | openssl enc -base64")
        return TestKeyPair(
            privateKeyPEM: try String(contentsOfFile: key, encoding: .utf8), publicKeyPEM: try String(contentsOfFile: pub, encoding: .utf8),
            fingerprint: "SHA256:" + fingerprint.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    @discardableResult
    static func shell(_ command: String) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", command]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw XCTSkip("openssl failed: \(command)") }
        return String(decoding: data, as: UTF8.self)
    }
}

/// Two keys for the whole run: generating RSA keys is slow.
let sharedKeys: (user: TestKeyPair, other: TestKeyPair)? = {
    guard let user = try? TestKeyPair.generate(), let other = try? TestKeyPair.generate() else { return nil }
    return (user, other)
}()

func keys() throws -> (user: TestKeyPair, other: TestKeyPair) {
    guard let keys = sharedKeys else { throw XCTSkip("openssl could not generate RSA keys") }
    return keys
}

/// moto's S3 endpoint (`KEEL_TEST_S3_ENDPOINT`), skipping when it is not set.
func s3Endpoint() throws -> String {
    let environment = ProcessInfo.processInfo.environment
    if let endpoint = environment["KEEL_TEST_S3_ENDPOINT"], !endpoint.isEmpty { return endpoint }
    if environment["KEEL_REQUIRE_SERVICES"] == "1" {
        XCTFail("KEEL_TEST_S3_ENDPOINT is not set but KEEL_REQUIRE_SERVICES=1")
    }
    throw XCTSkip("KEEL_TEST_S3_ENDPOINT is not set; run the tests with deploy/local/test")
}

let testSecretAccessKey = "moto-secret-\(UUID().uuidString.prefix(8))"

/// A server, a bucket in moto and a matching configuration.
struct Fixture {
    var server: SnowflakeTestServer
    var configuration: SnowflakeConfiguration
    var s3: S3Client

    static let account = "xy12345.us-east-2.aws"
    static let user = "keel_loader"

    /// Without `s3`, the stage points at a closed port (for tests of the SQL client alone).
    static func start(privateKey: String? = nil, s3 needsS3: Bool = true) async throws -> Fixture {
        let keys = try keys()
        let s3Configuration = S3Configuration(
            bucket: "keel-sf-\(UInt32.random(in: 0...UInt32.max))", region: "us-east-1", endpoint: needsS3 ? try s3Endpoint() : "http://127.0.0.1:1",
            accessKeyId: "AKIDSNOWFLAKE", secretAccessKey: testSecretAccessKey,
            requestTimeoutSeconds: needsS3 ? 60 : 2)  // AsyncHTTPClient retries a refused connection until the deadline
        let s3 = try S3Client(configuration: s3Configuration, httpClient: .shared)
        if needsS3 { try await s3.createBucket() }
        let server = try await SnowflakeTestServer.start(
            account: "XY12345", user: "KEEL_LOADER", database: "ANALYTICS", schema: "KEEL", warehouse: "LOADING",
            role: "LOADER", publicKeyPEM: keys.user.publicKeyPEM, fingerprint: keys.user.fingerprint, s3: needsS3 ? s3 : nil)
        let configuration = SnowflakeConfiguration(
            account: account, user: user, privateKeyPEM: privateKey ?? keys.user.privateKeyPEM, warehouse: "loading",
            database: "analytics", schema: "keel", role: "loader", baseURL: server.baseURL, s3: s3Configuration,
            prefix: "/snowflake/stage/", deadline: .seconds(20))
        return Fixture(server: server, configuration: configuration, s3: s3)
    }

    func client() throws -> SnowflakeSQLClient {
        var client = try SnowflakeSQLClient(configuration: configuration, httpClient: .shared, logger: Logger(label: "test"))
        client.initialPollInterval = .milliseconds(20)
        client.maximumPollInterval = .milliseconds(100)
        return client
    }

    func loader() throws -> SnowflakeWarehouseLoader {
        SnowflakeWarehouseLoader(client: try client(), store: s3, logger: Logger(label: "test"))
    }
}

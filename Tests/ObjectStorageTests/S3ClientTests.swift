import AsyncHTTPClient
import Foundation
import XCTest

@testable import ObjectStorage

/// Against moto's S3 server (`KEEL_TEST_S3_ENDPOINT`, started by deploy/local/test).
final class S3ClientTests: XCTestCase {
    func endpoint() throws -> String {
        let environment = ProcessInfo.processInfo.environment
        if let endpoint = environment["KEEL_TEST_S3_ENDPOINT"], !endpoint.isEmpty { return endpoint }
        if environment["KEEL_REQUIRE_SERVICES"] == "1" {
            XCTFail("KEEL_TEST_S3_ENDPOINT is not set but KEEL_REQUIRE_SERVICES=1")
        }
        throw XCTSkip("KEEL_TEST_S3_ENDPOINT is not set; run the tests with deploy/local/test")
    }

    func makeClient(bucket: String, httpClient: HTTPClient, threshold: Int = 16 << 20) throws -> S3Client {
        try S3Client(
            configuration: S3Configuration(
                bucket: bucket, region: "us-east-1", endpoint: try endpoint(),
                accessKeyId: "AKIDTEST", secretAccessKey: "test-secret",
                multipartThreshold: threshold, partSize: 5 << 20
            ),
            httpClient: httpClient
        )
    }

    func testPutGetListAndMissing() async throws {
        let httpClient = HTTPClient.shared
        let client = try makeClient(bucket: "keel-test-\(UInt32.random(in: 0...UInt32.max))", httpClient: httpClient)
        try await client.createBucket()
        try await client.createBucket()  // idempotent
        let body = Array("{\"event\":\"Order Completed\"}\n".utf8)
        try await client.put(key: "events/web/2026-11-29/1.a b.json.gz", body: body, contentType: "application/gzip")
        try await client.put(key: "events/web/2026-11-29/2.c.json.gz", body: [1, 2], contentType: "application/gzip")
        try await client.put(key: "other/x", body: [3], contentType: "application/octet-stream")
        let read = try await client.get(key: "events/web/2026-11-29/1.a b.json.gz")
        XCTAssertEqual(read, body)
        let listed = try await client.list(prefix: "events/")
        XCTAssertEqual(listed, ["events/web/2026-11-29/1.a b.json.gz", "events/web/2026-11-29/2.c.json.gz"])
        do {
            _ = try await client.get(key: "events/none")
            XCTFail("expected notFound")
        } catch {
            XCTAssertEqual(error.code, .notFound)
            XCTAssertFalse(error.description.contains("test-secret"))
        }
    }

    func testMultipartUploadAboveThreshold() async throws {
        let httpClient = HTTPClient.shared
        let client = try makeClient(bucket: "keel-mp-\(UInt32.random(in: 0...UInt32.max))", httpClient: httpClient, threshold: 6 << 20)
        try await client.createBucket()
        var body = [UInt8](repeating: 0, count: 11 << 20)
        for index in body.indices { body[index] = UInt8(truncatingIfNeeded: index &* 31 &+ index >> 13) }
        try await client.put(key: "big/object.bin", body: body, contentType: "application/octet-stream")
        let read = try await client.get(key: "big/object.bin")
        XCTAssertEqual(read.count, body.count)
        XCTAssertEqual(read, body)
    }

    func testUnreachableEndpointIsRetryable() async throws {
        let httpClient = HTTPClient.shared
        let client = try S3Client(
            configuration: S3Configuration(
                bucket: "b", endpoint: "http://127.0.0.1:1", accessKeyId: "a", secretAccessKey: "very-secret",
                requestTimeoutSeconds: 2
            ),
            httpClient: httpClient
        )
        do {
            try await client.put(key: "k", body: [1], contentType: "x")
            XCTFail("expected a failure")
        } catch {
            XCTAssertTrue(error.isRetryable)
            XCTAssertFalse(error.description.contains("very-secret"))
        }
    }
}

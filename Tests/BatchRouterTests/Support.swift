import EventModel
import Foundation
import Logging
import XCTest

enum TestSupport {
    static let logger: Logger = {
        var logger = Logger(label: "keel.batch-router.test")
        logger.logLevel = ProcessInfo.processInfo.environment["KEEL_TEST_LOG"] == "1" ? .debug : .critical
        return logger
    }()

    /// moto's endpoint (`KEEL_TEST_S3_ENDPOINT`), or a skip (a failure under `KEEL_REQUIRE_SERVICES=1`).
    static func s3Endpoint() throws -> String {
        let environment = ProcessInfo.processInfo.environment
        if let endpoint = environment["KEEL_TEST_S3_ENDPOINT"], !endpoint.isEmpty { return endpoint }
        if environment["KEEL_REQUIRE_SERVICES"] == "1" {
            XCTFail("KEEL_TEST_S3_ENDPOINT is not set but KEEL_REQUIRE_SERVICES=1")
        }
        throw XCTSkip("KEEL_TEST_S3_ENDPOINT is not set; run the tests with deploy/local/test")
    }

    static func track(_ id: String, user: String = "u1", event: String = "Order Completed", properties: JSON = [:], receivedAt: String = "2026-11-29T12:00:05.000Z") -> JSON {
        [
            "type": "track", "event": .string(event), "messageId": .string(id), "userId": .string(user),
            "anonymousId": .string("anon-\(user)"), "receivedAt": .string(receivedAt), "timestamp": .string(receivedAt),
            "context": ["library": ["name": "analytics.js"]], "properties": properties,
        ]
    }

    static func identify(_ id: String, user: String, traits: JSON, receivedAt: String) -> JSON {
        [
            "type": "identify", "messageId": .string(id), "userId": .string(user), "receivedAt": .string(receivedAt),
            "timestamp": .string(receivedAt), "traits": traits,
        ]
    }
}

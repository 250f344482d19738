import EventModel
import Foundation
import GatewayService
import Hummingbird
import HummingbirdTesting
import XCTest

/// A real client: RudderStack's Python SDK (gzip batches to /v1/batch with Basic auth) against a
/// live gateway on a free port.
final class RudderSDKTests: XCTestCase {
    func testPythonSDKCallsArriveEnrichedOnTheIngestTopic() async throws {
        let script = try Self.scriptPath()
        let harness = try GatewayHarness()
        try await harness.run(testing: .live) { client in
            let port = try XCTUnwrap(client.port)
            let (status, output) = try await Self.runPython(script, arguments: ["http://127.0.0.1:\(port)", "wk-web"])
            if status == 3 || status == 127 {
                if ProcessInfo.processInfo.environment["KEEL_REQUIRE_SERVICES"] == "1" {
                    XCTFail("python3 with rudder-sdk-python is required (KEEL_REQUIRE_SERVICES=1): \(output)")
                    return
                }
                throw XCTSkip("python3 with rudder-sdk-python is not available: \(output)")
            }
            XCTAssertEqual(status, 0, output)

            let records = try await harness.records(atLeast: 6)
            let byId = Dictionary(records.map { ($0["messageId"] ?? "", $0) }, uniquingKeysWith: { first, _ in first })
            let expected = ["py-identify": "identify", "py-track": "track", "py-page": "page",
                            "py-screen": "screen", "py-group": "group", "py-alias": "alias"]
            XCTAssertEqual(Set(byId.keys), Set(expected.keys))
            for (id, type) in expected {
                let record = try XCTUnwrap(byId[id], id)
                XCTAssertEqual(record["type"], type)
                XCTAssertEqual(record["userId"], "py-user")
                XCTAssertEqual(record.workspaceId, "acme")
                XCTAssertEqual(record.sourceId, "web")
                XCTAssertEqual(record["request_ip"], "127.0.0.1")
                XCTAssertNotNil(record["receivedAt"].flatMap { Timestamp(parsing: $0) }, id)
                XCTAssertNotNil(record["sentAt"], "the SDK's batch sentAt reaches each event")
                let userKey = record["anonymousId"].flatMap { $0.isEmpty ? nil : $0 } ?? "py-user"
                XCTAssertEqual(record.key, "acme:" + userKey)
            }
            XCTAssertEqual(byId["py-identify"]?.event["context"]?["traits"]?["email"]?.stringValue
                ?? byId["py-identify"]?.event["traits"]?["email"]?.stringValue, "ada@example.com")
            XCTAssertEqual(byId["py-track"]?["event"], "Order Completed")
            XCTAssertEqual(byId["py-track"]?.event["properties"]?["revenue"]?.doubleValue, 99.5)
            XCTAssertEqual(byId["py-page"]?["name"], "Install")
            XCTAssertEqual(byId["py-page"]?.event["properties"]?["path"]?.stringValue, "/docs/install")
            XCTAssertEqual(byId["py-screen"]?["name"], "Welcome")
            XCTAssertEqual(byId["py-group"]?["groupId"], "org-42")
            XCTAssertEqual(byId["py-group"]?.event["traits"]?["name"]?.stringValue, "Acme Inc")
            XCTAssertEqual(byId["py-alias"]?["previousId"], "py-anon-previous")
        }
    }

    static func scriptPath() throws -> String {
        if let path = Bundle.module.path(forResource: "rudder_client", ofType: "py", inDirectory: "Resources") {
            return path
        }
        return URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("Resources/rudder_client.py").path
    }

    /// Runs `python3 script arguments…` off the cooperative pool; returns exit status and output.
    static func runPython(_ script: String, arguments: [String]) async throws -> (Int32, String) {
        try await withCheckedThrowingContinuation { continuation in
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = ["python3", script] + arguments
            let pipe = Pipe()
            process.standardOutput = pipe
            process.standardError = pipe
            process.terminationHandler = { process in
                let data = pipe.fileHandleForReading.readDataToEndOfFile()
                continuation.resume(returning: (process.terminationStatus, String(decoding: data, as: UTF8.self)))
            }
            do {
                try process.run()
            } catch {
                continuation.resume(returning: (127, "cannot start python3: \(error)"))
            }
        }
    }
}

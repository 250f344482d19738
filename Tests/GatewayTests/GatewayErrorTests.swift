import EventModel
import GatewayService
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import XCTest

/// Every refusal: status, a clear plain-text message, no secret in it, and nothing produced.
final class GatewayErrorTests: XCTestCase {
    private static func post(
        _ client: any TestClientProtocol, _ uri: String, writeKey: String? = "wk-web", _ body: String,
        headers: HTTPFields = [:]
    ) async throws -> TestResponse {
        try await client.execute(uri: uri, method: .post, headers: Req.headers(writeKey: writeKey, headers), body: Req.body(body))
    }

    func testBadRequestsAreRefusedWithClearMessagesAndProduceNothing() async throws {
        let harness = try GatewayHarness()
        try await harness.run { client in
            let cases: [(String, String, String)] = [
                ("/v1/track", #"{"userId":"u","event":"x""#, "invalid JSON"),
                ("/v1/track", #"[{"userId":"u"}]"#, "not an event object"),
                ("/v1/track", #"{"event":"nobody"}"#, "neither userId nor anonymousId"),
                ("/v1/track", #"{"userId":"","anonymousId":null}"#, "neither userId nor anonymousId"),
                ("/v1/batch", #"{"batch":[{"type":"track","userId":"a"},{"type":"purchase","userId":"b"}]}"#, "batch[1] has an unknown type"),
                ("/v1/batch", #"{"batch":[{"type":"track","userId":"a"},{"type":"track"}]}"#, "batch[1] has neither userId nor anonymousId"),
                ("/v1/batch", #"{"batch":[{"type":"track","userId":"a"},"str"]}"#, "batch[1] is not an event object"),
                ("/v1/batch", #"{"events":[]}"#, "no \"batch\" array"),
            ]
            for (uri, body, expected) in cases {
                let response = try await Self.post(client, uri, body)
                XCTAssertEqual(response.status, .badRequest, body)
                XCTAssertTrue(Req.text(response).lowercased().contains(expected.lowercased()), "\(body): \(Req.text(response))")
                XCTAssertTrue(response.headers[.contentType]?.hasPrefix("text/plain") ?? false)
            }
            let all = try await harness.allRecords()
            XCTAssertEqual(all.count, 0, "all or nothing: the valid events of refused batches are not produced")
        }
    }

    func testWriteKeyProblems() async throws {
        let harness = try GatewayHarness()
        try await harness.run { client in
            let missing = try await Self.post(client, "/v1/track", writeKey: nil, #"{"userId":"u"}"#)
            XCTAssertEqual(missing.status, .unauthorized)
            let unknown = try await Self.post(client, "/v1/track", writeKey: "secret-unknown-key", #"{"userId":"u"}"#)
            XCTAssertEqual(unknown.status, .unauthorized)
            XCTAssertFalse(Req.text(unknown).contains("secret-unknown-key"), "the key is not echoed")
            let garbage = try await client.execute(
                uri: "/v1/track", method: .post, headers: [.authorization: "Basic !!!"], body: Req.body(#"{"userId":"u"}"#))
            XCTAssertEqual(garbage.status, .unauthorized)
            let disabled = try await Self.post(client, "/v1/track", writeKey: "wk-off", #"{"userId":"u"}"#)
            XCTAssertEqual(disabled.status, .notFound)
            // A missing key wins over a bad body: the caller learns the real problem first.
            let both = try await Self.post(client, "/v1/track", writeKey: nil, "not json")
            XCTAssertEqual(both.status, .unauthorized)
            let all = try await harness.allRecords()
            XCTAssertEqual(all.count, 0)
        }
    }

    func testSizeLimitsAreConfigurable() async throws {
        let harness = try GatewayHarness()
        try await harness.run(configure: {
            $0.maxEventBytes = 1024
            $0.maxRequestBytes = 8 * 1024
        }) { client in
            let big = String(repeating: "y", count: 1100)
            let event = try await Self.post(client, "/v1/track", #"{"userId":"u","p":"\#(big)"}"#)
            XCTAssertEqual(event.status, .contentTooLarge)
            XCTAssertTrue(Req.text(event).contains("1024"), Req.text(event))
            let inBatch = try await Self.post(
                client, "/v1/batch", #"{"batch":[{"type":"track","userId":"u"},{"type":"track","userId":"u","p":"\#(big)"}]}"#)
            XCTAssertEqual(inBatch.status, .contentTooLarge)
            XCTAssertTrue(Req.text(inBatch).lowercased().contains("batch[1]"), Req.text(inBatch))
            let events = (0..<20).map { #"{"type":"track","userId":"u\#($0)","p":"\#(String(repeating: "z", count: 500))"}"# }
            let request = try await Self.post(client, "/v1/batch", #"{"batch":["# + events.joined(separator: ",") + "]}")
            XCTAssertEqual(request.status, .contentTooLarge)
            let fits = try await Self.post(client, "/v1/track", #"{"userId":"u","p":"small"}"#)
            XCTAssertEqual(fits.status, .ok)
            let records = try await harness.records(atLeast: 1)
            let all = try await harness.allRecords()
            XCTAssertEqual(records.count, 1)
            XCTAssertEqual(all.count, 1)
        }
    }

    func testRateLimitAnswers429WithRetryAfter() async throws {
        let harness = try GatewayHarness()
        try await harness.run { client in
            // Warm the producer first, so the timing below is the gateway's, not metadata's.
            let warm = try await Self.post(client, "/v1/track", #"{"userId":"w"}"#)
            XCTAssertEqual(warm.status, .ok)
            // Source "slow" allows 2 events/s: a batch of 2 passes, the next request must wait.
            let batch = #"{"batch":[{"type":"track","userId":"r1"},{"type":"track","userId":"r2"}]}"#
            let first = try await Self.post(client, "/v1/batch", writeKey: "wk-slow", batch)
            XCTAssertEqual(first.status, .ok)
            let second = try await Self.post(client, "/v1/track", writeKey: "wk-slow", #"{"userId":"r9"}"#)
            XCTAssertEqual(second.status, .tooManyRequests)
            XCTAssertEqual(Req.text(second), "Too many events: over the rate limit")
            let retryAfter = try XCTUnwrap(second.headers[.retryAfter].flatMap { Int($0) })
            XCTAssertEqual(retryAfter, 1)
            // Other sources are not limited by it.
            let other = try await Self.post(client, "/v1/track", #"{"userId":"r9"}"#)
            XCTAssertEqual(other.status, .ok)
            try await Task.sleep(for: .seconds(retryAfter))
            let later = try await Self.post(client, "/v1/track", writeKey: "wk-slow", #"{"userId":"r9"}"#)
            XCTAssertEqual(later.status, .ok)
            let records = try await harness.records(atLeast: 5)
            let all = try await harness.allRecords()
            XCTAssertEqual(records.count, 5)
            XCTAssertEqual(all.count, 5, "the refused request produced nothing")
        }
    }

    func testSourceChangesApplyWithoutRestart() async throws {
        let harness = try GatewayHarness()
        let directory = MutableSourceDirectory()
        directory.set([GatewaySource(workspaceId: "acme", id: "web", name: "Website", writeKey: "wk-1")])
        try await harness.run(sources: directory) { client in
            let before = try await Self.post(client, "/v1/track", writeKey: "wk-1", #"{"userId":"u"}"#)
            XCTAssertEqual(before.status, .ok)
            directory.set([
                GatewaySource(workspaceId: "acme", id: "web", name: "Website", writeKey: "wk-2"),
                GatewaySource(workspaceId: "acme", id: "app", name: "App", writeKey: "wk-1", enabled: false),
            ])
            let rotated = try await Self.post(client, "/v1/track", writeKey: "wk-2", #"{"userId":"u"}"#)
            XCTAssertEqual(rotated.status, .ok)
            let disabled = try await Self.post(client, "/v1/track", writeKey: "wk-1", #"{"userId":"u"}"#)
            XCTAssertEqual(disabled.status, .notFound)
        }
    }
}

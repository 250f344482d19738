import EventModel
import GatewayService
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import XCTest

/// Every endpoint through the HTTP layer, produced to a mock Kafka cluster and read back.
final class GatewayEndpointTests: XCTestCase {
    func testTrackIsProducedWithEnrichmentOnlyAfterAcknowledgement() async throws {
        let harness = try GatewayHarness()
        try await harness.run { client in
            let response = try await client.execute(
                uri: "/v1/track", method: .post,
                headers: Req.headers(writeKey: "wk-web", [.init("X-Forwarded-For")!: "203.0.113.7, 10.0.0.1"]),
                body: Req.body(
                    #"{"anonymousId":"anon-1","userId":"u-1","event":"Order Completed","properties":{"revenue":42.5},"originalTimestamp":"2024-01-01T00:00:00.000Z","sentAt":"2024-01-01T00:00:01.000Z","type":"identify"}"#
                ))
            XCTAssertEqual(response.status, .ok)
            XCTAssertEqual(Req.text(response), "OK")
            let records = try await harness.records(atLeast: 1)
            XCTAssertEqual(records.count, 1)
            let record = try XCTUnwrap(records.first)
            XCTAssertEqual(record.key, "acme:anon-1")
            XCTAssertEqual(record.workspaceId, "acme")
            XCTAssertEqual(record.sourceId, "web")
            XCTAssertEqual(record["type"], "track", "the path sets the type")
            XCTAssertEqual(record["event"], "Order Completed")
            XCTAssertEqual(record.event["properties"]?["revenue"]?.doubleValue, 42.5)
            XCTAssertEqual(record["request_ip"], "203.0.113.7")
            XCTAssertEqual(record["originalTimestamp"], "2024-01-01T00:00:00.000Z")
            XCTAssertEqual(record["sentAt"], "2024-01-01T00:00:01.000Z")
            XCTAssertTrue(MessageID.isUUID(record["messageId"] ?? ""), "messageId filled")
            let receivedAt = try XCTUnwrap(record["receivedAt"])
            let age = Timestamp.now().milliseconds(since: try XCTUnwrap(Timestamp(parsing: receivedAt)))
            XCTAssertTrue((0..<60_000).contains(age), "receivedAt \(receivedAt) is now")
        }
    }

    func testEachSingleEventPathSetsItsType() async throws {
        let harness = try GatewayHarness()
        try await harness.run { client in
            for type in ["page", "screen", "identify", "group", "alias"] {
                let response = try await client.execute(
                    uri: "/v1/\(type)", method: .post, headers: Req.headers(writeKey: "wk-web"),
                    body: Req.body(#"{"userId":"user-\#(type)","messageId":"m-\#(type)","traits":{"plan":"pro"}}"#))
                XCTAssertEqual(response.status, .ok, type)
            }
            let records = try await harness.records(atLeast: 5)
            XCTAssertEqual(records.count, 5)
            for record in records {
                let id = try XCTUnwrap(record["messageId"])
                XCTAssertEqual(record["type"].map { "m-" + $0 }, id)
                XCTAssertEqual(record.key, "acme:user-" + (record["type"] ?? ""))
                XCTAssertEqual(record.event["traits"]?["plan"]?.stringValue, "pro")
                XCTAssertNotNil(record["request_ip"])
            }
        }
    }

    func testBatchKeepsEachTypeAndKeysEachUser() async throws {
        let harness = try GatewayHarness()
        try await harness.run { client in
            let body = #"""
                {"batch":[
                  {"type":"identify","userId":"u1","traits":{"email":"a@example.com"}},
                  {"type":"track","anonymousId":"a2","event":"Viewed","messageId":"given-id"},
                  {"type":"page","anonymousId":"a3","name":"Home","sentAt":"2024-03-03T00:00:00.000Z"}
                ],"sentAt":"2024-02-02T00:00:00.000Z"}
                """#
            let response = try await client.execute(
                uri: "/v1/batch", method: .post, headers: Req.headers(writeKey: "wk-web"), body: Req.body(body))
            XCTAssertEqual(response.status, .ok)
            let records = try await harness.records(atLeast: 3).sorted { $0.key < $1.key }
            XCTAssertEqual(records.map(\.key), ["acme:a2", "acme:a3", "acme:u1"])
            XCTAssertEqual(records.map { $0["type"] }, ["track", "page", "identify"])
            XCTAssertEqual(records[0]["messageId"], "given-id")
            XCTAssertEqual(records[0]["sentAt"], "2024-02-02T00:00:00.000Z", "batch sentAt copied")
            XCTAssertEqual(records[1]["sentAt"], "2024-03-03T00:00:00.000Z", "event's own sentAt kept")
            XCTAssertEqual(records[2].event["traits"]?["email"]?.stringValue, "a@example.com")
            XCTAssertEqual(Set(records.compactMap { $0["receivedAt"] }).count, 1, "one receivedAt per request")
        }
    }

    func testImportTakesLargeBatchesThatBatchRefuses() async throws {
        let harness = try GatewayHarness()
        let padding = String(repeating: "x", count: 900)
        let events = (0..<800).map { #"{"type":"track","userId":"user-\#($0 % 40)","event":"Imported","properties":{"p":"\#(padding)"}}"# }
        let body = #"{"batch":["# + events.joined(separator: ",") + "]}"
        XCTAssertGreaterThan(body.utf8.count, 500 * 1024)
        try await harness.run { client in
            let refused = try await client.execute(
                uri: "/v1/batch", method: .post, headers: Req.headers(writeKey: "wk-web"), body: Req.body(body))
            XCTAssertEqual(refused.status, .contentTooLarge)
            let accepted = try await client.execute(
                uri: "/v1/import", method: .post, headers: Req.headers(writeKey: "wk-web"), body: Req.body(body))
            XCTAssertEqual(accepted.status, .ok, Req.text(accepted))
            let records = try await harness.records(atLeast: 800)
            XCTAssertEqual(records.count, 800)
            XCTAssertEqual(Set(records.map(\.key)).count, 40, "produced per user key")
        }
    }

    func testBeaconTakesTextPlainWithWriteKeyInQuery() async throws {
        let harness = try GatewayHarness()
        try await harness.run { client in
            let response = try await client.execute(
                uri: "/beacon/v1/batch?writeKey=wk-web", method: .post,
                headers: [.contentType: "text/plain;charset=UTF-8"],
                body: Req.body(#"{"batch":[{"type":"track","anonymousId":"b1","event":"Left page"}],"sentAt":"2024-01-01T00:00:00.000Z"}"#))
            XCTAssertEqual(response.status, .ok)
            let records = try await harness.records(atLeast: 1)
            XCTAssertEqual(records.first?["event"], "Left page")
            XCTAssertEqual(records.first?.sourceId, "web")
        }
    }

    func testSegmentStyleWriteKeyInBody() async throws {
        let harness = try GatewayHarness()
        try await harness.run { client in
            let response = try await client.execute(
                uri: "/v1/t", method: .post, headers: [.contentType: "text/plain"],
                body: Req.body(#"{"writeKey":"wk-web","anonymousId":"seg-1","event":"Clicked"}"#))
            XCTAssertEqual(response.status, .ok)
            let records = try await harness.records(atLeast: 1)
            XCTAssertEqual(records.first?["type"], "track")
            XCTAssertNil(records.first?.event["writeKey"], "the credential does not travel with the event")
            let unknown = try await client.execute(
                uri: "/v1/t", method: .post, headers: [.contentType: "text/plain"],
                body: Req.body(#"{"writeKey":"nope","anonymousId":"seg-1","event":"Clicked"}"#))
            XCTAssertEqual(unknown.status, .unauthorized)
        }
    }

    func testPixelAlwaysAnswersAGifAndProducesQueryAsEvent() async throws {
        let harness = try GatewayHarness()
        try await harness.run { client in
            let response = try await client.execute(
                uri: "/pixel/v1/track?writeKey=wk-web&anonymousId=px-1&event=Email%20Opened&properties.campaign=spring&context.campaign.source=mail",
                method: .get)
            XCTAssertEqual(response.status, .ok)
            XCTAssertEqual(response.headers[.contentType], "image/gif")
            XCTAssertEqual(Array(Array(buffer: response.body).prefix(6)), Array("GIF89a".utf8))
            let page = try await client.execute(uri: "/pixel/v1/page?writeKey=wk-web&userId=px-2&name=Landing", method: .get)
            XCTAssertEqual(page.status, .ok)
            for bad in ["/pixel/v1/track?writeKey=unknown&anonymousId=x", "/pixel/v1/track?anonymousId=x", "/pixel/v1/track?writeKey=wk-web"] {
                let failed = try await client.execute(uri: bad, method: .get)
                XCTAssertEqual(failed.status, .ok, bad)
                XCTAssertEqual(failed.headers[.contentType], "image/gif")
            }
            let records = try await harness.records(atLeast: 2)
            let all = try await harness.allRecords()
            XCTAssertEqual(all.count, 2, "failed pixels produce nothing")
            let track = try XCTUnwrap(records.first { $0["type"] == "track" })
            XCTAssertEqual(track.key, "acme:px-1")
            XCTAssertEqual(track["event"], "Email Opened")
            XCTAssertEqual(track.event["properties"]?["campaign"]?.stringValue, "spring")
            XCTAssertEqual(track.event["context"]?["campaign"]?["source"]?.stringValue, "mail")
            let pageRecord = try XCTUnwrap(records.first { $0["type"] == "page" })
            XCTAssertEqual(pageRecord["name"], "Landing")
        }
    }

    func testWebhookBodyBecomesTrackEventNamedAfterSource() async throws {
        let harness = try GatewayHarness()
        try await harness.run { client in
            let json = try await client.execute(
                uri: "/v1/webhook?writeKey=wk-hook&region=eu", method: .post,
                headers: [.contentType: "application/json", .init("X-Signature")!: "sig-1", .authorization: "Bearer secret"],
                body: Req.body(#"{"invoice":{"id":"in_1","amount":1200},"status":"paid"}"#))
            XCTAssertEqual(json.status, .ok, Req.text(json))
            let raw = try await client.execute(
                uri: "/v1/webhook?writeKey=wk-hook", method: .post, headers: [.contentType: "application/x-www-form-urlencoded"],
                body: Req.body("a=1&b=2"))
            XCTAssertEqual(raw.status, .ok)
            let sdk = try await client.execute(
                uri: "/v1/webhook?writeKey=wk-web", method: .post, body: Req.body("{}"))
            XCTAssertEqual(sdk.status, .badRequest)
            let records = try await harness.records(atLeast: 2)
            let first = try XCTUnwrap(records.first { $0.event["properties"]?["status"] != nil })
            XCTAssertEqual(first["type"], "track")
            XCTAssertEqual(first["event"], "Billing webhook")
            XCTAssertEqual(first.sourceId, "hooks")
            XCTAssertEqual(first.event["properties"]?["invoice"]?["amount"]?.intValue, 1200)
            XCTAssertEqual(first.event["properties"]?["region"]?.stringValue, "eu")
            XCTAssertEqual(first.event["context"]?["headers"]?["X-Signature"]?.stringValue, "sig-1")
            XCTAssertNil(first.event["context"]?["headers"]?["Authorization"], "credentials are not copied")
            XCTAssertTrue(MessageID.isUUID(first["anonymousId"] ?? ""), "anonymousId generated")
            XCTAssertEqual(first.key, "acme:" + (first["anonymousId"] ?? ""))
            let second = try XCTUnwrap(records.first { $0.event["properties"]?["body"] != nil })
            XCTAssertEqual(second.event["properties"]?["body"]?.stringValue, "a=1&b=2")
        }
    }

    func testHealth() async throws {
        let harness = try GatewayHarness()
        try await harness.run { client in
            let response = try await client.execute(uri: "/health", method: .get)
            XCTAssertEqual(response.status, .ok)
        }
    }

    func testSourceConfigForRudderStackJavaScriptSDK() async throws {
        let harness = try GatewayHarness()
        try await harness.run { client in
            for (uri, headers) in [
                ("/sourceConfig?writeKey=wk-web", HTTPFields()),
                ("/sourceConfig/?p=npm&v=3.0.0", [HTTPField.Name.authorization: Req.basic("wk-web")] as HTTPFields),
            ] {
                let response = try await client.execute(uri: uri, method: .get, headers: headers)
                XCTAssertEqual(response.status, .ok, uri)
                let body = try JSON(parsing: Array(buffer: response.body))
                XCTAssertEqual(body["isHosted"]?.boolValue, false)
                let source = try XCTUnwrap(body["source"])
                XCTAssertEqual(source["id"]?.stringValue, "web")
                XCTAssertEqual(source["name"]?.stringValue, "Website")
                XCTAssertEqual(source["writeKey"]?.stringValue, "wk-web")
                XCTAssertEqual(source["enabled"]?.boolValue, true)
                XCTAssertEqual(source["workspaceId"]?.stringValue, "acme")
                XCTAssertNotNil(source["sourceDefinitionId"]?.stringValue)
                XCTAssertEqual(source["config"]?.objectValue?.count, 0)
                XCTAssertEqual(source["destinations"]?.arrayValue?.count, 0)
            }
            let unknown = try await client.execute(uri: "/sourceConfig?writeKey=nope", method: .get)
            XCTAssertEqual(unknown.status, .unauthorized)
        }
    }

    func testSegmentSettingsPointAnalyticsJSAtTheGateway() async throws {
        let harness = try GatewayHarness()
        try await harness.run { client in
            let response = try await client.execute(
                uri: "/v1/projects/wk-web/settings", method: .get, headers: [.init("Host")!: "events.example.com"])
            XCTAssertEqual(response.status, .ok)
            let body = try JSON(parsing: Array(buffer: response.body))
            let segment = try XCTUnwrap(body["integrations"]?["Segment.io"])
            XCTAssertEqual(segment["apiKey"]?.stringValue, "wk-web")
            XCTAssertNotNil(segment["apiHost"]?.stringValue)
            XCTAssertNotNil(body["plan"]?["track"])
            let unknown = try await client.execute(uri: "/v1/projects/nope/settings", method: .get)
            XCTAssertEqual(unknown.status, .unauthorized)
        }
    }

    func testGzipBodiesAreInflated() async throws {
        let harness = try GatewayHarness()
        try await harness.run { client in
            let events = (0..<20).map { #"{"type":"track","anonymousId":"gz-\#($0)","event":"Zipped"}"# }
            let plain = Array((#"{"batch":["# + events.joined(separator: ",") + "]}").utf8)
            let response = try await client.execute(
                uri: "/v1/batch", method: .post, headers: Req.headers(writeKey: "wk-web", [.contentEncoding: "gzip"]),
                body: ByteBuffer(bytes: Req.gzip(plain)))
            XCTAssertEqual(response.status, .ok, Req.text(response))
            let records = try await harness.records(atLeast: 20)
            XCTAssertEqual(records.count, 20)
            XCTAssertTrue(records.allSatisfy { $0["event"] == "Zipped" })
        }
    }

    func testGzipBombStopsAtTheLimitAndCorruptGzipIsRejected() async throws {
        let harness = try GatewayHarness()
        try await harness.run { client in
            // 50 MB of zeros inside a valid batch shape: ~50 KB compressed.
            let bomb = Array(#"{"batch":[{"type":"track","userId":"u","p":""#.utf8) + [UInt8](repeating: 0x61, count: 50_000_000)
                + Array(#""}]}"#.utf8)
            let compressed = Req.gzip(bomb)
            XCTAssertLessThan(compressed.count, 500 * 1024)
            let response = try await client.execute(
                uri: "/v1/batch", method: .post, headers: Req.headers(writeKey: "wk-web", [.contentEncoding: "gzip"]),
                body: ByteBuffer(bytes: compressed))
            XCTAssertEqual(response.status, .contentTooLarge)
            let corrupt = try await client.execute(
                uri: "/v1/track", method: .post, headers: Req.headers(writeKey: "wk-web", [.contentEncoding: "gzip"]),
                body: Req.body(#"{"userId":"u"}"#))
            XCTAssertEqual(corrupt.status, .badRequest)
            let truncated = try await client.execute(
                uri: "/v1/track", method: .post, headers: Req.headers(writeKey: "wk-web", [.contentEncoding: "gzip"]),
                body: ByteBuffer(bytes: Req.gzip(Array(#"{"userId":"u"}"#.utf8)).dropLast(6)))
            XCTAssertEqual(truncated.status, .badRequest)
            let all = try await harness.allRecords()
            XCTAssertEqual(all.count, 0)
        }
    }

    func testCORSPreflightAndResponses() async throws {
        let harness = try GatewayHarness()
        try await harness.run { client in
            let preflight = try await client.execute(
                uri: "/v1/batch", method: .options,
                headers: [.origin: "https://shop.example.com", .accessControlRequestMethod: "POST",
                          .accessControlRequestHeaders: "authorization,content-type,anonymousid"])
            XCTAssertTrue([.ok, .noContent].contains(preflight.status))
            XCTAssertEqual(preflight.headers[.accessControlAllowOrigin], "https://shop.example.com")
            XCTAssertEqual(preflight.headers[.accessControlAllowCredentials], "true")
            let allowed = (preflight.headers[.accessControlAllowHeaders] ?? "").lowercased()
            for header in ["authorization", "content-type", "anonymousid"] {
                XCTAssertTrue(allowed.contains(header), allowed)
            }
            XCTAssertTrue((preflight.headers[.accessControlAllowMethods] ?? "").contains("POST"))
            let post = try await client.execute(
                uri: "/v1/track", method: .post,
                headers: Req.headers(writeKey: "wk-web", [.origin: "https://shop.example.com"]),
                body: Req.body(#"{"anonymousId":"c1","event":"x"}"#))
            XCTAssertEqual(post.status, .ok)
            XCTAssertEqual(post.headers[.accessControlAllowOrigin], "https://shop.example.com")
            let denied = try await client.execute(
                uri: "/v1/track", method: .post, headers: [.origin: "https://shop.example.com"], body: Req.body("{}"))
            XCTAssertEqual(denied.status, .unauthorized)
            XCTAssertEqual(denied.headers[.accessControlAllowOrigin], "https://shop.example.com", "errors carry CORS too")
        }
    }

    func testAnonymousIdHeaderFillsEventsWithoutOne() async throws {
        let harness = try GatewayHarness()
        try await harness.run { client in
            let response = try await client.execute(
                uri: "/v1/batch", method: .post,
                headers: Req.headers(writeKey: "wk-web", [.init("AnonymousId")!: "hdr-anon"]),
                body: Req.body(#"{"batch":[{"type":"track","event":"a"},{"type":"track","anonymousId":"own","event":"b"}]}"#))
            XCTAssertEqual(response.status, .ok, Req.text(response))
            let records = try await harness.records(atLeast: 2)
            let first = try XCTUnwrap(records.first { $0["event"] == "a" })
            XCTAssertEqual(first["anonymousId"], "hdr-anon")
            XCTAssertEqual(first.key, "acme:hdr-anon")
            XCTAssertEqual(records.first { $0["event"] == "b" }?["anonymousId"], "own")
        }
    }
}

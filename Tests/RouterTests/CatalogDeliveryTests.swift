import Destinations
import EventModel
import Foundation
import HTTPTestServer
import Hummingbird
import KafkaTransport
import Logging
import NIOCore
import RouterService
import Synchronization
import XCTest

/// The destination catalog through real parts: events mapped by the processor's function
/// (`DestinationDefinition.transform`) into `DeliveryJob`s on `keel.deliver.<type>` of a mock
/// cluster, the router, and a local server answering like Amplitude's HTTP V2 API and Braze's
/// REST API (it checks the API key / bearer token and the payload shape the docs require).
final class CatalogDeliveryTests: XCTestCase {
    func testAmplitudeAndBrazeJobsReachTheirAPIsAsDocumented() async throws {
        let harness = try await RouterHarness.make()
        defer { Task { await harness.shutdown() } }
        let tools = try await ToolAPIServer.start(amplitudeKey: "amp-key-123", brazeKey: "braze-rest-key")
        defer { Task { await tools.stop() } }
        for type in ["amplitude", "braze"] { try harness.cluster.createTopic("keel.deliver.\(type)", partitions: 2) }

        let amplitude: JSON = ["apiKey": "amp-key-123", "endpoint": .string(tools.baseURL + "/amplitude")]
        let braze: JSON = ["restApiKey": "braze-rest-key", "restEndpoint": .string(tools.baseURL + "/braze")]
        let events: [JSON] = [
            [
                "type": "identify", "messageId": "m-1", "userId": "user-42", "anonymousId": "anon-0001",
                "timestamp": "2026-11-29T12:00:00.000Z", "context": ["traits": ["email": "ada@example.com", "firstName": "Ada"]],
            ],
            [
                "type": "track", "messageId": "m-2", "userId": "user-42", "anonymousId": "anon-0001", "event": "Order Completed",
                "timestamp": "2026-11-29T12:00:01.000Z",
                "properties": ["currency": "EUR", "products": [["product_id": "sku-1", "price": 10.0, "quantity": 2]]],
            ],
        ]
        var messages: [OutgoingMessage] = []
        for (type, config) in [("amplitude", amplitude), ("braze", braze)] {
            let definition = try XCTUnwrap(DestinationRegistry.standard.definition(forType: type))
            let mapper = try definition.makeMapper(config)
            for event in events {
                guard case .requests(let requests) = definition.transform(event, with: mapper) else {
                    return XCTFail("\(type) did not map \(event)")
                }
                let job = DeliveryJob(
                    workspaceId: "acme", sourceId: "web", destinationId: "\(type)-prod", destinationType: type,
                    messageId: event["messageId"]?.stringValue ?? "", userKey: event.userKey, eventType: event["type"]?.stringValue ?? "",
                    eventName: event.eventName ?? "", receivedAt: "2026-11-29T12:00:01.000Z", requests: requests)
                messages.append(OutgoingMessage(topic: "keel.deliver.\(type)", key: Array(job.key.utf8), value: job.serialized()))
            }
        }
        let running = try harness.startRouter()
        defer { Task { await running.kill() } }
        try await harness.produce(messages)
        try await harness.waitUntil("2 Amplitude uploads, Braze identify + 2 /users/track") { tools.received().count >= 5 }
        try await Task.sleep(for: .milliseconds(300))

        let received = tools.received()
        XCTAssertEqual(received.map(\.status).sorted(), [200, 200, 201, 201, 201], "every request accepted: \(received)")
        let amplitudeUploads = received.filter { $0.path == "/amplitude/2/httpapi" }
        XCTAssertEqual(amplitudeUploads.count, 2)
        XCTAssertEqual(amplitudeUploads.map { $0.body[path: "events"]?[0]?["event_type"]?.stringValue }, ["$identify", "Order Completed"])
        XCTAssertEqual(amplitudeUploads.map { $0.body[path: "events"]?[0]?["insert_id"]?.stringValue }, ["m-1", "m-2"])
        XCTAssertEqual(amplitudeUploads[0].body[path: "events"]?[0]?[path: "user_properties", "$set", "firstName"], "Ada")
        XCTAssertEqual(amplitudeUploads[1].body[path: "events"]?[0]?["time"]?.intValue, 1_795_953_601_000)
        XCTAssertEqual(amplitudeUploads[0].contentType, "application/json")

        let brazeRequests = received.filter { $0.path.hasPrefix("/braze/") }
        XCTAssertEqual(brazeRequests.map(\.path), ["/braze/users/identify", "/braze/users/track", "/braze/users/track"], "identify's two requests in order, then the purchase")
        XCTAssertTrue(brazeRequests.allSatisfy { $0.authorization == "Bearer braze-rest-key" })
        XCTAssertEqual(brazeRequests[0].body[path: "aliases_to_identify"]?[0]?[path: "user_alias", "alias_label"], "rudder_id")
        XCTAssertEqual(brazeRequests[1].body[path: "attributes"]?[0]?["first_name"], "Ada")
        let purchase = brazeRequests[2].body[path: "purchases"]?[0]
        XCTAssertEqual(purchase?["product_id"], "sku-1")
        XCTAssertEqual(purchase?["currency"], "EUR")
        XCTAssertEqual(purchase?["quantity"]?.intValue, 2)
    }
}

/// A local server answering like the tools' documented APIs, recording what it accepted.
/// Amplitude (`POST …/2/httpapi`): 400 `{"code":400,"error":"Invalid API key"}` unless `api_key`
/// matches; 400 when an event lacks `event_type` or both ids; else 200 with `events_ingested`.
/// Braze (`POST …/users/track`, `…/users/identify`): 401 unless `Authorization: Bearer <key>`;
/// 201 `{"message":"success"}`.
final class ToolAPIServer: Sendable {
    struct Received: Sendable, CustomStringConvertible {
        var path: String
        var authorization: String?
        var contentType: String?
        var body: JSON
        var status: Int
        var description: String { "\(status) \(path)" }
    }

    private let server: RecordingHTTPServer<Received>

    var port: Int { server.port }
    var baseURL: String { server.baseURL }

    private init(server: RecordingHTTPServer<Received>) {
        self.server = server
    }

    func received() -> [Received] { server.records() }

    func stop() async { await server.stop() }

    static func start(amplitudeKey: String, brazeKey: String) async throws -> ToolAPIServer {
        let server = try await RecordingHTTPServer<Received>.start(label: "tool-api", maxBodyBytes: 1 << 20) { request, bytes in
            let body = (try? JSON(parsing: bytes)) ?? .null
            let path = request.uri.path
            let authorization = request.headers[.authorization]
            let (status, answer) = Self.answer(path: path, authorization: authorization, body: body, amplitudeKey: amplitudeKey, brazeKey: brazeKey)
            let received = Received(path: path, authorization: authorization, contentType: request.headers[.contentType], body: body, status: status)
            return (received, Response(status: .init(code: status), body: ResponseBody(byteBuffer: ByteBuffer(string: answer.jsonString))))
        }
        return ToolAPIServer(server: server)
    }

    static func answer(path: String, authorization: String?, body: JSON, amplitudeKey: String, brazeKey: String) -> (Int, JSON) {
        if path.hasSuffix("/2/httpapi") {
            guard body["api_key"]?.stringValue == amplitudeKey else { return (400, ["code": 400, "error": "Invalid API key"]) }
            guard let events = body["events"]?.arrayValue, !events.isEmpty,
                events.allSatisfy({ $0["event_type"]?.stringValue != nil && ($0["user_id"] != nil || $0["device_id"] != nil) })
            else { return (400, ["code": 400, "error": "Request missing required field"]) }
            return (200, ["code": 200, "events_ingested": .int(Int64(events.count)), "server_upload_time": 1_795_953_601_000])
        }
        if path.hasSuffix("/users/track") || path.hasSuffix("/users/identify") {
            guard authorization == "Bearer " + brazeKey else { return (401, ["message": "Invalid API Key"]) }
            return (201, ["message": "success"])
        }
        return (404, ["message": "not found"])
    }
}

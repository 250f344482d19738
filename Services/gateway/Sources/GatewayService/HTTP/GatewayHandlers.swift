import EventModel
import Hummingbird
import KafkaTransport
import Logging
import HTTPTypes

/// The request handlers of the public server. Every handler answers with a `Response` (it does
/// not throw), so the CORS middleware decorates errors too and metrics see every outcome.
struct GatewayHandlers: Sendable {
    let pipeline: IngestPipeline
    let metrics: GatewayMetrics

    /// The 1x1 transparent GIF the pixel endpoints always answer.
    static let pixelGIF: [UInt8] = [
        0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 0x01, 0x00, 0x01, 0x00, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00,
        0xFF, 0xFF, 0xFF, 0x21, 0xF9, 0x04, 0x01, 0x00, 0x00, 0x00, 0x00, 0x2C, 0x00, 0x00, 0x00, 0x00,
        0x01, 0x00, 0x01, 0x00, 0x00, 0x02, 0x02, 0x44, 0x01, 0x00, 0x3B,
    ]

    // MARK: SDK endpoints

    func ingest(_ request: Request, context: GatewayRequestContext, endpoint: IngestEndpoint) async -> Response {
        let start = ContinuousClock.now
        var sourceLabel = GatewayMetrics.unknownSource
        var events = 0
        var bytes = 0
        let response: Response
        do throws(IngestFailure) {
            var source: GatewaySource?
            if let writeKey = RequestIdentity.writeKey(of: request) {
                let resolved = try pipeline.resolve(writeKey: writeKey)
                sourceLabel = resolved.id
                source = resolved
            }
            let metadata = Self.metadata(of: request, context: context)
            let body = try await pipeline.collect(
                request, limit: pipeline.bodyLimit(for: endpoint, source: source), isGzip: metadata.isGzip)
            bytes = body.readableBytes
            let (resolved, messages) = try pipeline.messages(
                body: body, endpoint: endpoint, source: source, metadata: metadata)
            sourceLabel = resolved.id
            events = messages.count
            try await pipeline.produce(messages, source: resolved)
            response = PlainText.response(.ok, "OK")
        } catch {
            events = max(events, error.events)
            response = error.response
        }
        metrics.request(
            endpoint: endpoint.label, source: sourceLabel, status: Int(response.status.code), events: events,
            bytes: bytes, duration: ContinuousClock.now - start)
        return response
    }

    // MARK: Pixel

    /// `GET /pixel/v1/{track,page}?writeKey=…&anonymousId=…&event=…&properties.x=y`: the query
    /// becomes the event (dotted keys nest). Always answers the GIF; failures are only counted.
    func pixel(_ request: Request, context: GatewayRequestContext, type: EventType) async -> Response {
        let start = ContinuousClock.now
        var sourceLabel = GatewayMetrics.unknownSource
        var status = 200
        do throws(IngestFailure) {
            guard let writeKey = RequestIdentity.writeKey(of: request) else { throw IngestFailure.missingWriteKey }
            let source = try pipeline.resolve(writeKey: writeKey)
            sourceLabel = source.id
            var event = JSONObject()
            for (key, value) in request.uri.queryParameters where key != "writeKey" {
                Self.set(.string(String(value)), at: key.split(separator: ".").map(String.init), in: &event)
            }
            let body = ByteBuffer(bytes: JSON.object(event).serialized())
            let (_, messages) = try pipeline.messages(
                body: body, endpoint: .single(type), source: source,
                metadata: Self.metadata(of: request, context: context))
            try await pipeline.produce(messages, source: source)
        } catch {
            status = Int(error.status.code)
        }
        metrics.request(
            endpoint: "pixel_\(type.rawValue)", source: sourceLabel, status: status, events: status == 200 ? 1 : 0,
            bytes: 0, duration: ContinuousClock.now - start)
        var headers: HTTPFields = [.contentType: "image/gif"]
        headers[.cacheControl] = "no-cache, no-store, must-revalidate"
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: Self.pixelGIF)))
    }

    /// Sets `value` at a dotted path, making intermediate objects; a scalar in the way is replaced.
    static func set(_ value: JSON, at path: [String], in object: inout JSONObject) {
        guard let head = path.first else { return }
        if path.count == 1 {
            object[head] = value
            return
        }
        var child = object[head]?.objectValue ?? JSONObject()
        set(value, at: Array(path.dropFirst()), in: &child)
        object[head] = .object(child)
    }

    // MARK: Webhook

    /// `/v1/webhook?writeKey=…`: the raw body and headers become a `track` event named after the
    /// source; properties are the JSON body's members (or `{"body": "<raw>"}`) plus the query.
    func webhook(_ request: Request, context: GatewayRequestContext) async -> Response {
        let start = ContinuousClock.now
        var sourceLabel = GatewayMetrics.unknownSource
        var bytes = 0
        let response: Response
        do throws(IngestFailure) {
            guard let writeKey = RequestIdentity.writeKey(of: request) else { throw IngestFailure.missingWriteKey }
            let source = try pipeline.resolve(writeKey: writeKey)
            sourceLabel = source.id
            guard source.kind == .webhook else {
                throw IngestFailure(.badRequest, "This write key belongs to an SDK source, not a webhook source")
            }
            let metadata = Self.metadata(of: request, context: context)
            let body = try await pipeline.collect(
                request, limit: pipeline.bodyLimit(for: .batch, source: source), isGzip: metadata.isGzip)
            bytes = body.readableBytes
            let event = Self.webhookEvent(body: body, request: request, source: source)
            let (_, messages) = try pipeline.messages(
                body: ByteBuffer(bytes: JSON.object(event).serialized()), endpoint: .single(.track), source: source,
                metadata: metadata)
            try await pipeline.produce(messages, source: source)
            response = PlainText.response(.ok, "OK")
        } catch {
            response = error.response
        }
        metrics.request(
            endpoint: "webhook", source: sourceLabel, status: Int(response.status.code),
            events: response.status == .ok ? 1 : 0, bytes: bytes, duration: ContinuousClock.now - start)
        return response
    }

    /// Headers that are credentials or transport details, never copied into webhook events.
    private static let hiddenWebhookHeaders: Set<String> = [
        "authorization", "proxy-authorization", "cookie", "content-length", "connection", "transfer-encoding",
        "content-encoding",
    ]

    static func webhookEvent(body: ByteBuffer, request: Request, source: GatewaySource) -> JSONObject {
        var properties = JSONObject()
        var event = JSONObject()
        let raw = body.withUnsafeReadableBytes { Array($0) }
        if let parsed = try? JSON(parsing: raw) {
            if case .object(let object) = parsed {
                properties = object
            } else {
                properties["body"] = parsed
            }
        } else if !raw.isEmpty {
            properties["body"] = .string(String(decoding: raw, as: UTF8.self))
        }
        for (key, value) in request.uri.queryParameters where key != "writeKey" {
            properties[String(key)] = .string(String(value))
        }
        var headers = JSONObject()
        for field in request.headers where !hiddenWebhookHeaders.contains(field.name.canonicalName.lowercased()) {
            headers[field.name.rawName] = .string(field.value)
        }
        event["type"] = "track"
        event["event"] = .string(source.name)
        if case .string(let id)? = properties["anonymousId"], !id.isEmpty {
            event["anonymousId"] = .string(id)
        } else {
            event["anonymousId"] = .string(MessageID.random())
        }
        if case .string(let id)? = properties["userId"], !id.isEmpty { event["userId"] = .string(id) }
        event["properties"] = .object(properties)
        event["context"] = .object(["headers": .object(headers), "library": .object(["name": "keel-webhook"])])
        return event
    }

    // MARK: Source settings for browser SDKs

    /// `GET /sourceConfig?writeKey=…` (or Basic auth): the control-plane answer RudderStack's
    /// JavaScript SDK loads before sending (`configUrl` pointing at Keel).
    func sourceConfig(_ request: Request) -> Response {
        guard let writeKey = RequestIdentity.writeKey(of: request) else { return IngestFailure.missingWriteKey.response }
        guard let source = pipeline.sources.source(writeKey: writeKey) else { return IngestFailure.unknownWriteKey.response }
        let definition: JSON =
            source.kind == .webhook
            ? .object(["id": "keel-webhook", "name": "webhook", "displayName": "Webhook", "category": "webhook"])
            : .object(["id": "keel-javascript", "name": "Javascript", "displayName": "JavaScript", "category": .null])
        let body: JSON = .object([
            "isHosted": false,
            "source": .object([
                "config": .object([:]),
                "id": .string(source.id),
                "name": .string(source.name),
                "writeKey": .string(source.writeKey),
                "enabled": .bool(source.enabled),
                "sourceDefinitionId": definition["id"] ?? .null,
                "deleted": false,
                "workspaceId": .string(source.workspaceId),
                "updatedAt": .string(Timestamp.now().rfc3339),
                "sourceDefinition": definition,
                "destinations": .array([]),
            ]),
        ])
        return Self.json(body)
    }

    /// `GET /v1/projects/<writeKey>/settings`: the settings Segment's analytics.js loads, pointing
    /// its `Segment.io` integration at this gateway.
    func segmentSettings(_ request: Request, writeKey: String) -> Response {
        guard let source = pipeline.sources.source(writeKey: writeKey) else { return IngestFailure.unknownWriteKey.response }
        let host = request.head.authority ?? "127.0.0.1:\(pipeline.configuration.port)"
        let body: JSON = .object([
            "integrations": .object([
                "Segment.io": .object([
                    "apiKey": .string(source.writeKey),
                    "apiHost": .string(host + "/v1"),
                    "unbundledIntegrations": .array([]),
                    "addBundledMetadata": true,
                ])
            ]),
            "plan": .object([
                "track": .object(["__default": .object(["enabled": true, "integrations": .object([:])])]),
                "identify": .object(["__default": .object(["enabled": true])]),
                "group": .object(["__default": .object(["enabled": true])]),
            ]),
            "edgeFunction": .object([:]),
            "analyticsNextEnabled": true,
            "middlewareSettings": .object([:]),
            "enabledMiddleware": .object([:]),
            "metrics": .object(["sampleRate": 0]),
            "legacyVideoPluginsEnabled": false,
            "remotePlugins": .array([]),
        ])
        return Self.json(body)
    }

    // MARK: helpers

    static func metadata(of request: Request, context: GatewayRequestContext) -> RequestMetadata {
        RequestMetadata(
            requestIP: RequestIdentity.clientIP(of: request, context: context),
            anonymousIdHeader: request.headers[.anonymousId],
            isGzip: request.headers[.contentEncoding].map { $0.lowercased().contains("gzip") } ?? false
        )
    }

    static func json(_ value: JSON) -> Response {
        Response(
            status: .ok,
            headers: [.contentType: "application/json; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(bytes: value.serialized()))
        )
    }
}

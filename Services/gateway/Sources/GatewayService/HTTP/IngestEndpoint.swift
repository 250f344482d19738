import EventModel
import Hummingbird
import KafkaTransport
import Logging

/// Which shape of body an endpoint takes.
enum IngestEndpoint: Sendable, Equatable {
    /// `/v1/<type>`: one event; the path sets `type`.
    case single(EventType)
    /// `/v1/batch` and `/beacon/v1/batch`: `{"batch":[…]}`, each element with its own `type`.
    case batch
    /// `/v1/import`: like batch, with the larger import size limit.
    case importBatch

    /// Metric label.
    var label: String {
        switch self {
        case .single(let type): return type.rawValue
        case .batch: return "batch"
        case .importBatch: return "import"
        }
    }
}

/// A request refused: the status, a message safe to show, and Retry-After for 429.
struct IngestFailure: Error {
    var status: HTTPResponse.Status
    var message: String
    var retryAfterSeconds: Int?
    /// How many events the request carried, when known (for metrics).
    var events = 0

    init(_ status: HTTPResponse.Status, _ message: String, retryAfterSeconds: Int? = nil) {
        self.status = status
        self.message = message
        self.retryAfterSeconds = retryAfterSeconds
    }

    var response: Response {
        var headers: HTTPFields = [:]
        if let retryAfterSeconds { headers[.retryAfter] = String(retryAfterSeconds) }
        return PlainText.response(status, message, headers: headers)
    }

    static let missingWriteKey = IngestFailure(.unauthorized, "Missing write key: send it as the HTTP Basic username")
    static let unknownWriteKey = IngestFailure(.unauthorized, "Invalid write key")
    static let disabledSource = IngestFailure(.notFound, "Source is disabled")
}

/// What a request tells about where its events come from, besides the body.
struct RequestMetadata {
    var requestIP: String
    var anonymousIdHeader: String?
    var isGzip: Bool
}

/// The ingestion pipeline: body → scanned events → spliced IngestRecords → one Kafka send.
struct IngestPipeline: Sendable {
    let configuration: GatewayConfiguration
    let producer: KafkaProducer
    let sources: any SourceDirectory
    let limiter: RateLimiter
    let topic: String
    let logger: Logger

    /// Resolves a write key, refusing unknown keys (401) and disabled sources (404).
    func resolve(writeKey: String) throws(IngestFailure) -> GatewaySource {
        guard let source = sources.source(writeKey: writeKey) else { throw .unknownWriteKey }
        guard source.enabled else { throw .disabledSource }
        return source
    }

    /// The request limit: the gateway's, lowered by the workspace's setting when the source is
    /// known before the body is read.
    func bodyLimit(for endpoint: IngestEndpoint, source: GatewaySource?) -> Int {
        if endpoint == .importBatch { return configuration.maxImportBytes }
        return min(configuration.maxRequestBytes, source?.maxRequestBytes ?? .max)
    }

    /// The event limit: the gateway's, lowered by the workspace's setting.
    func eventLimit(source: GatewaySource) -> Int {
        min(configuration.maxEventBytes, source.maxEventBytes ?? .max)
    }

    /// Reads the body up to the endpoint's limit, inflating gzip within the same limit.
    func collect(_ request: Request, limit: Int, isGzip: Bool) async throws(IngestFailure) -> ByteBuffer {
        if let length = request.headers[.contentLength].flatMap({ Int($0) }), length > limit {
            throw IngestFailure(.contentTooLarge, "Request body is larger than \(limit) bytes")
        }
        var body: ByteBuffer
        do {
            body = try await request.body.collect(upTo: limit)
        } catch let error as HTTPError where error.status == .contentTooLarge {
            throw IngestFailure(.contentTooLarge, "Request body is larger than \(limit) bytes")
        } catch {
            throw IngestFailure(.badRequest, "Could not read the request body")
        }
        guard isGzip else { return body }
        do {
            let inflated = try body.withUnsafeReadableBytes { raw throws(InflateError) in
                try GzipInflater.inflate(raw, limit: limit)
            }
            body = ByteBuffer(bytes: inflated)
            return body
        } catch .tooLarge {
            throw IngestFailure(.contentTooLarge, "Request body is larger than \(limit) bytes once inflated")
        } catch {
            throw IngestFailure(.badRequest, "Request body is not valid gzip")
        }
    }

    /// Scans and splices the whole body; either every event becomes a message or none does.
    ///
    /// - Parameter source: nil when the request carried no write key in a header or the query;
    ///   the body's `writeKey` (Segment's analytics.js) is used then.
    func messages(
        body: ByteBuffer,
        endpoint: IngestEndpoint,
        source: GatewaySource?,
        metadata: RequestMetadata
    ) throws(IngestFailure) -> (GatewaySource, [OutgoingMessage]) {
        do {
            return try body.withUnsafeReadableBytes { raw throws(IngestFailure) in
                let bytes = raw.bindMemory(to: UInt8.self)
                return try messages(bytes: bytes, endpoint: endpoint, source: source, metadata: metadata)
            }
        }
    }

    private func messages(
        bytes: UnsafeBufferPointer<UInt8>,
        endpoint: IngestEndpoint,
        source: GatewaySource?,
        metadata: RequestMetadata
    ) throws(IngestFailure) -> (GatewaySource, [OutgoingMessage]) {
        let events: [ScannedEvent]
        var batchSentAt: ValueSpan?
        var bodyWriteKey: ValueSpan?
        do {
            switch endpoint {
            case .single:
                let event = try JSONByteScanner.scanEvent(bytes)
                events = [event]
                bodyWriteKey = event.writeKey
            case .batch, .importBatch:
                let batch = try JSONByteScanner.scanBatch(bytes)
                events = batch.events
                batchSentAt = batch.sentAt
                bodyWriteKey = batch.writeKey ?? batch.events.first?.writeKey
            }
        } catch {
            guard source != nil else { throw .missingWriteKey }
            throw IngestFailure(.badRequest, Self.capitalized(error.description))
        }

        let resolved: GatewaySource
        if let source {
            resolved = source
        } else {
            guard let span = bodyWriteKey, case .string = span.kind, !span.isBlank else { throw .missingWriteKey }
            var key: [UInt8] = []
            JSONText.appendKeyPart(span, from: bytes, to: &key)
            resolved = try resolve(writeKey: String(decoding: key, as: UTF8.self))
        }

        let writer = IngestRecordWriter(
            workspaceId: resolved.workspaceId,
            sourceId: resolved.id,
            receivedAt: Timestamp.now().rfc3339,
            requestIP: metadata.requestIP,
            headerAnonymousId: metadata.anonymousIdHeader
        )
        let typeOverride: EventType?
        if case .single(let type) = endpoint { typeOverride = type } else { typeOverride = nil }
        var messages: [OutgoingMessage] = []
        messages.reserveCapacity(events.count)
        let eventLimit = eventLimit(source: resolved)
        for (index, event) in events.enumerated() {
            let position = typeOverride == nil ? index : nil
            guard event.byteCount <= eventLimit else {
                var failure = IngestFailure(
                    .contentTooLarge,
                    Self.capitalized(EventRejection.eventTooLarge(index: position, limit: eventLimit).description))
                failure.events = events.count
                throw failure
            }
            do {
                let message = try writer.message(
                    for: event, in: bytes, typeOverride: typeOverride, batchSentAt: batchSentAt, index: position)
                messages.append(OutgoingMessage(topic: topic, key: message.key, value: message.value))
            } catch {
                var failure = IngestFailure(.badRequest, Self.capitalized(error.description))
                failure.events = events.count
                throw failure
            }
        }
        return (resolved, messages)
    }

    /// Applies the rate limits, then produces every message and waits for every acknowledgement.
    func produce(_ messages: [OutgoingMessage], source: GatewaySource) async throws(IngestFailure) {
        guard !messages.isEmpty else { return }
        if case .limited(let seconds) = limiter.admit(events: messages.count, source: source) {
            var failure = IngestFailure(.tooManyRequests, "Too many events: over the rate limit", retryAfterSeconds: seconds)
            failure.events = messages.count
            throw failure
        }
        do {
            // librdkafka gives messages up after `ackTimeout` (message.timeout.ms), but in-flight
            // requests to a dead broker can hold its verdict for several seconds more; never
            // keep a client waiting past twice the timeout.
            try await producer.send(messages, deadline: .now + configuration.ackTimeout * 2)
        } catch {
            logger.warning(
                "Kafka did not acknowledge a request's events",
                metadata: ["source": "\(source.id)", "events": "\(messages.count)", "error": "\(error.code)"])
            var failure: IngestFailure
            if error.code == .messageTooLarge {
                failure = IngestFailure(.contentTooLarge, "An event is larger than Kafka accepts")
            } else {
                failure = IngestFailure(.serviceUnavailable, "Events could not be stored in time; retry later")
            }
            failure.events = messages.count
            throw failure
        }
    }

    private static func capitalized(_ text: String) -> String {
        guard let first = text.first else { return text }
        return first.uppercased() + text.dropFirst()
    }
}

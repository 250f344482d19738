import AsyncHTTPClient
import EventModel
import NIOCore
import NIOHTTP1
import struct Destinations.DestinationRequest

/// Sends a job's requests with the process's one `HTTPClient` and classifies the answer.
///
/// Requests of a job go one after another from `nextRequest`; the first that is not 2xx ends the
/// attempt, and the failure records how many were answered so a retry resumes there. A job with a
/// plan runs its steps instead (``deliverPlan(_:of:timeout:)``, in PlanRunner.swift). Request
/// headers never appear in a failure: only the status, a response excerpt and a fixed reason.
public struct HTTPDeliverer: Sendable {
    /// The client of destination types without their own.
    public let client: HTTPClient
    /// Clients of destination types with their own connection pool (keys lowercased).
    public let clientsByType: [String: HTTPClient]
    /// Largest response body read; the rest is discarded.
    public var maxResponseBytes = 64 * 1024
    /// Largest plan step answer kept for later steps' references (a longer one counts as no answer).
    public var maxPlanAnswerBytes = 1 << 20
    /// Cached plan step answers (tokens), shared by all jobs of this deliverer.
    public let planAnswers: PlanAnswerCache

    public init(client: HTTPClient, clientsByType: [String: HTTPClient] = [:], planAnswers: PlanAnswerCache = PlanAnswerCache()) {
        self.client = client
        self.planAnswers = planAnswers
        self.clientsByType = Dictionary(clientsByType.map { ($0.key.lowercased(), $0.value) }, uniquingKeysWith: { first, _ in first })
    }

    /// The client that sends to destinations of `type`.
    public func client(forType type: String) -> HTTPClient {
        if clientsByType.isEmpty { return client }
        return clientsByType[type] ?? clientsByType[type.lowercased()] ?? client
    }

    /// A client sized for many destinations: connection pool per host, no automatic redirects
    /// beyond a few, idle connections kept a minute.
    ///
    /// `connectionsPerHost` caps the HTTP/1.1 connections to one host (AsyncHTTPClient's own
    /// default is 8, which would cap throughput to one tool's API at 8 requests in flight whatever
    /// the destinations' `maxConcurrency`). Keep it at least the sum of `maxConcurrency` of the
    /// destinations sharing a host.
    public static func makeClient(connectionsPerHost: Int = RouterSettings.defaultConnectionsPerHost) -> HTTPClient {
        var configuration = HTTPClient.Configuration(
            redirectConfiguration: .follow(max: 3, allowCycles: false),
            timeout: .init(connect: .seconds(5))
        )
        configuration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: connectionsPerHost)
        configuration.decompression = .enabled(limit: .ratio(50))
        // No tracer: Keel bootstraps no tracing system, and with the default no-op tracer
        // AsyncHTTPClient still parses every request's URL for span attributes (~3 % of the
        // router's CPU per delivery).
        configuration.tracing.tracer = nil
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    /// The default client and one per type in `settings.connectionsPerHostByType`.
    public static func makeClients(_ settings: RouterSettings) -> (client: HTTPClient, clientsByType: [String: HTTPClient]) {
        let clientsByType = settings.connectionsPerHostByType.mapValues { makeClient(connectionsPerHost: $0) }
        return (makeClient(connectionsPerHost: settings.connectionsPerHost), clientsByType)
    }

    public func deliver(_ job: ScheduledJob, timeout: Duration) async -> AttemptResult {
        if let plan = job.job.plan { return await deliverPlan(plan, of: job.job, timeout: timeout) }
        let requests = job.job.requests
        let client = client(forType: job.job.destinationType)
        var index = job.nextRequest
        var lastStatus = 204
        while index < requests.count {
            let result = await send(requests[index], client: client, completedRequests: index, timeout: timeout).result
            switch result {
            case .delivered(let status): lastStatus = status
            case .failed: return result
            }
            index += 1
        }
        return .delivered(statusCode: lastStatus)
    }

    /// One request's outcome and, when `answerLimit` is set and it was answered 2xx, its body
    /// (`nil` when longer than the limit).
    func send(
        _ request: DestinationRequest, client: HTTPClient, completedRequests: Int, timeout: Duration, answerLimit: Int? = nil
    ) async -> (result: AttemptResult, answer: [UInt8]?) {
        let httpRequest: HTTPClientRequest
        do {
            httpRequest = try Self.makeRequest(request)
        } catch {
            return (.failed(DeliveryFailure(kind: .invalidJob, reason: "\(error)", retryable: false, completedRequests: completedRequests)), nil)
        }
        do {
            let response = try await client.execute(httpRequest, timeout: .nanoseconds(Int64(timeout.seconds * 1e9)))
            let status = Int(response.status.code)
            var body: [UInt8] = []
            let success = (200..<300).contains(status)
            let keep = success ? (answerLimit ?? 0) : OutcomeClassifier.excerptLimit
            let readLimit = max(maxResponseBytes, keep)
            var read = 0
            for try await chunk in response.body {
                read += chunk.readableBytes
                if body.count < keep { body += chunk.readableBytesView.prefix(keep - body.count) }
                if read > readLimit { break }
            }
            let result = OutcomeClassifier.classify(
                status: status, retryAfter: response.headers.first(name: "retry-after"), body: body, completedRequests: completedRequests
            )
            return (result, success && answerLimit != nil && read <= keep ? body : nil)
        } catch let error as HTTPClientError {
            let isTimeout = error == .deadlineExceeded || error == .readTimeout || error == .connectTimeout || error == .writeTimeout
            return (
                .failed(
                    DeliveryFailure(
                        kind: isTimeout ? .timeout : .connection,
                        reason: isTimeout ? "timeout" : "connection error: \(error.shortDescription)",
                        retryable: error != .invalidURL && error != .emptyHost && error != .unsupportedScheme(""),
                        completedRequests: completedRequests
                    )
                ), nil
            )
        } catch {
            return (
                .failed(
                    DeliveryFailure(kind: .connection, reason: "connection error: \(type(of: error))", retryable: true, completedRequests: completedRequests)
                ), nil
            )
        }
    }

    /// The AsyncHTTPClient request for a mapped request.
    static func makeRequest(_ request: DestinationRequest) throws -> HTTPClientRequest {
        guard request.url.hasPrefix("http://") || request.url.hasPrefix("https://") else {
            throw InvalidDeliveryJob(reason: "request URL is not http(s)")
        }
        var httpRequest = HTTPClientRequest(url: request.url)
        httpRequest.method = HTTPMethod(rawValue: request.method.rawValue)
        for header in request.headers { httpRequest.headers.add(name: header.name, value: header.value) }
        let body: (bytes: [UInt8], contentType: String)?
        switch request.body {
        case .none: body = nil
        case .json(.string(let text)): body = (Array(text.utf8), "application/json")  // pre-serialised: sent as is
        case .json(let value): body = (value.serialized(), "application/json")
        case .form(let fields): body = (Array(FormEncoding.encode(fields).utf8), "application/x-www-form-urlencoded")
        }
        if let body {
            // The mapping's own Content-Type, when it set one, stands.
            if !httpRequest.headers.contains(name: "content-type") { httpRequest.headers.add(name: "Content-Type", value: body.contentType) }
            httpRequest.body = .bytes(ByteBuffer(bytes: body.bytes))
        }
        return httpRequest
    }
}

extension HTTPClientError {
    /// The error's name without any URL or payload.
    var shortDescription: String {
        let text = String(describing: self)
        return text.count <= 60 ? text : String(text.prefix(60))
    }
}

/// `application/x-www-form-urlencoded` for form fields (a job's nested values arrive as JSON text).
enum FormEncoding {
    static func encode(_ fields: [(String, String)]) -> String {
        fields.map { escape($0.0) + "=" + escape($0.1) }.joined(separator: "&")
    }

    static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        let hex = Array("0123456789ABCDEF".utf8)
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "*"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            case UInt8(ascii: " "):
                out.append("+")
            default:
                out.append("%")
                out.unicodeScalars.append(Unicode.Scalar(hex[Int(byte >> 4)]))
                out.unicodeScalars.append(Unicode.Scalar(hex[Int(byte & 0x0F)]))
            }
        }
        return out
    }
}

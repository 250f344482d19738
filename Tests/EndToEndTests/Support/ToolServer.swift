import EventModel
import Foundation
import HTTPTestServer
import Hummingbird
import Logging
import NIOCore
import Synchronization

/// One HTTP request a cloud tool received, as the tool saw it.
struct ReceivedRequest: Sendable, CustomStringConvertible {
    /// The first path segment: which destination's base URL the request went to.
    var destination: String
    var method: String
    /// The path after the destination segment, e.g. `/2/httpapi`.
    var path: String
    /// Decoded query parameters.
    var query: [String: String]
    /// Header values by lower-cased name.
    var headers: [String: String]
    var bodyText: String
    /// The body parsed as JSON, when it is JSON.
    var json: JSON?
    /// The body parsed as `application/x-www-form-urlencoded`, when it is a form.
    var form: [String: String]
    /// What the tool answered.
    var status: Int

    var authorization: String? { headers["authorization"] }
    var description: String { "\(status) \(method) /\(destination)\(path)" }
}

/// A local server standing in for the cloud tools: every destination's base URL points at
/// `http://127.0.0.1:<port>/<destination>`. It records every request and answers the way the
/// tool's public API documentation says (``ToolAPIs``), including the rejections a wrong key,
/// token or payload gets, so a mapping that sent the wrong thing shows as a failed delivery.
final class ToolServer: Sendable {
    private let server: RecordingHTTPServer<ReceivedRequest>

    var port: Int { server.port }
    var baseURL: String { server.baseURL }

    private init(server: RecordingHTTPServer<ReceivedRequest>) {
        self.server = server
    }

    /// Every request received so far (optionally for one destination), in arrival order.
    func received(_ destination: String? = nil) -> [ReceivedRequest] {
        let all = server.records()
        return destination.map { name in all.filter { $0.destination == name } } ?? all
    }

    func stop() async { await server.stop() }

    static func start(answer: @escaping @Sendable (ReceivedRequest) -> ToolAnswer) async throws -> ToolServer {
        let server = try await RecordingHTTPServer<ReceivedRequest>.start(label: "e2e.tools") { request, bytes in
            var received = Self.describe(request, body: bytes)
            let reply = answer(received)
            received.status = reply.status
            var headers = HTTPFields()
            if let contentType = reply.contentType { headers[.contentType] = contentType }
            let response = Response(
                status: .init(code: reply.status), headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: reply.body)))
            return (received, response)
        }
        return ToolServer(server: server)
    }

    private static func describe(_ request: Request, body: [UInt8]) -> ReceivedRequest {
        let fullPath = request.uri.path
        let segments = fullPath.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: true)
        let destination = segments.first.map(String.init) ?? ""
        let rest = segments.count > 1 ? "/" + segments[1] : "/"
        var headers: [String: String] = [:]
        for field in request.headers { headers[field.name.canonicalName.lowercased()] = field.value }
        // HTTP/1.1's Host header arrives as the request's authority.
        if headers["host"] == nil, let authority = request.head.authority { headers["host"] = authority }
        let text = String(decoding: body, as: UTF8.self)
        let isForm = headers["content-type"]?.hasPrefix("application/x-www-form-urlencoded") == true
        return ReceivedRequest(
            destination: destination, method: request.method.rawValue, path: rest, query: decodeFormFields(request.uri.query ?? ""),
            headers: headers, bodyText: text, json: isForm ? nil : try? JSON(parsing: body),
            form: isForm ? decodeFormFields(text) : [:], status: 0)
    }
}

/// A tool's answer: status, content type and body text.
struct ToolAnswer: Sendable {
    var status: Int
    var contentType: String?
    var body: String

    static func json(_ status: Int, _ body: JSON) -> ToolAnswer { ToolAnswer(status: status, contentType: "application/json", body: body.jsonString) }
    static func text(_ status: Int, _ body: String) -> ToolAnswer { ToolAnswer(status: status, contentType: "text/plain", body: body) }
    static func empty(_ status: Int) -> ToolAnswer { ToolAnswer(status: status, contentType: nil, body: "") }
}

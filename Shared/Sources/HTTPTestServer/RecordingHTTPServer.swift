import Foundation
import Hummingbird
import NIOCore
import Synchronization

/// A loopback HTTP server for tests, standing in for a remote API: every request (any method, any
/// path) goes to `handle`, which says what to record and what to answer. Records are kept in
/// arrival order, each appended before its answer is sent.
public final class RecordingHTTPServer<Record: Sendable>: Sendable {
    /// Turns a request and its body into the record to keep and the response to send.
    public typealias Handler = @Sendable (_ request: Request, _ body: [UInt8]) async throws -> (record: Record, response: Response)

    private let server: LoopbackHTTPServer
    private let log: RecordLog

    public var port: Int { server.port }
    public var baseURL: String { server.baseURL }

    private final class RecordLog: Sendable {
        let records = Mutex<[Record]>([])
    }

    private init(server: LoopbackHTTPServer, log: RecordLog) {
        self.server = server
        self.log = log
    }

    /// Every record so far, in arrival order.
    public func records() -> [Record] { log.records.withLock { $0 } }

    public func stop() async { await server.stop() }

    /// Starts listening on an ephemeral port of 127.0.0.1 and returns once it does.
    public static func start(
        label: String, maxBodyBytes: Int = 4 << 20, handle: @escaping Handler
    ) async throws -> RecordingHTTPServer {
        let log = RecordLog()
        let router = Hummingbird.Router()
        let responder: @Sendable (Request, BasicRequestContext) async throws -> Response = { request, _ in
            let bytes = Array(try await request.body.collect(upTo: maxBodyBytes).readableBytesView)
            let (record, response) = try await handle(request, bytes)
            log.records.withLock { $0.append(record) }
            return response
        }
        for method in [HTTPRequest.Method.get, .post, .put, .patch, .delete] {
            router.on("**", method: method, use: responder)
        }
        return RecordingHTTPServer(server: await LoopbackHTTPServer.start(router: router, label: label), log: log)
    }
}

/// `a=1&b=x%20y` (also `+` for spaces, as forms encode them) → `["a": "1", "b": "x y"]`; a part
/// that does not percent-decode is kept as written.
public func decodeFormFields(_ text: String) -> [String: String] {
    var result: [String: String] = [:]
    for pair in text.split(separator: "&") {
        let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
        let decode: (Substring) -> String = { part in
            String(part).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String(part)
        }
        result[decode(parts[0])] = parts.count > 1 ? decode(parts[1]) : ""
    }
    return result
}

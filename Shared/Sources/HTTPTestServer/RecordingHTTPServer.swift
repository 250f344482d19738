import Foundation
import Hummingbird
import Logging
import NIOCore
import Synchronization

/// A loopback HTTP server for tests, standing in for a remote API: every request (any method, any
/// path) goes to `handle`, which says what to record and what to answer. Records are kept in
/// arrival order, each appended before its answer is sent.
public final class RecordingHTTPServer<Record: Sendable>: Sendable {
    /// Turns a request and its body into the record to keep and the response to send.
    public typealias Handler = @Sendable (_ request: Request, _ body: [UInt8]) async throws -> (record: Record, response: Response)

    public let port: Int
    private let task: Task<Void, Error>
    private let log: RecordLog

    public var baseURL: String { "http://127.0.0.1:\(port)" }

    private final class RecordLog: Sendable {
        let records = Mutex<[Record]>([])
    }

    private init(port: Int, task: Task<Void, Error>, log: RecordLog) {
        self.port = port
        self.task = task
        self.log = log
    }

    /// Every record so far, in arrival order.
    public func records() -> [Record] { log.records.withLock { $0 } }

    public func stop() async {
        task.cancel()
        _ = try? await task.value
    }

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
        var logger = Logger(label: label)
        logger.logLevel = .critical
        let (portStream, portContinuation) = AsyncStream.makeStream(of: Int.self)
        let app = Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0), serverName: nil),
            onServerRunning: { channel in portContinuation.yield(channel.localAddress?.port ?? 0) }, logger: logger)
        let task = Task { try await app.runService() }
        var iterator = portStream.makeAsyncIterator()
        let port = await iterator.next() ?? 0
        return RecordingHTTPServer(port: port, task: task, log: log)
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

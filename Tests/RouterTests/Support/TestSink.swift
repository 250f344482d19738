import EventModel
import Foundation
import HTTPTestServer
import Hummingbird
import Logging
import NIOCore
import Synchronization

/// A local HTTP server standing in for cloud tools. Each path (`/<destination>`) can be told to
/// answer 200, any status (with an optional `Retry-After`), or hang, for a while or until changed.
/// It records what it accepted: the path, the job's `messageId` and `userKey` from the JSON body.
final class TestSink: Sendable {
    enum Mode: Sendable, Equatable {
        case ok
        case status(Int, retryAfter: String? = nil)
        /// Never answer (until the client's timeout).
        case hang
    }

    struct Received: Sendable {
        var path: String
        var messageId: String
        var userKey: String
        var status: Int
        var at: ContinuousClock.Instant
        var sentAtMillis: Int64?
        /// The request's `Authorization` header.
        var authorization: String? = nil
    }

    struct State {
        var rules: [String: (mode: Mode, until: ContinuousClock.Instant?)] = [:]
        var received: [Received] = []
    }

    let state = Mutex(State())
    private let server: LoopbackHTTPServer
    var port: Int { server.port }

    private init(server: LoopbackHTTPServer) {
        self.server = server
    }

    /// Starts a sink on a free loopback port.
    static func start() async throws -> TestSink {
        let box = SinkBox()
        let router = Hummingbird.Router()
        router.post("/:destination") { request, context -> Response in
            guard let sink = box.sink.withLock({ $0 }) else { return Response(status: .serviceUnavailable) }
            let destination = context.parameters.get("destination") ?? ""
            let body = try await request.body.collect(upTo: 1 << 20)
            return try await sink.answer(
                path: destination, body: Array(body.readableBytesView), authorization: request.headers[.authorization])
        }
        let sink = TestSink(server: await LoopbackHTTPServer.start(router: router, label: "test-sink"))
        box.sink.withLock { $0 = sink }
        return sink
    }

    func stop() async { await server.stop() }

    func url(_ destination: String) -> String { "http://127.0.0.1:\(port)/\(destination)" }

    /// Answers `mode` on `/destination` for `duration` (then 200 again), or until changed.
    func set(_ destination: String, _ mode: Mode, for duration: Duration? = nil) {
        state.withLock { $0.rules[destination] = (mode, duration.map { .now + $0 }) }
    }

    func received(_ destination: String? = nil) -> [Received] {
        state.withLock { state in destination.map { d in state.received.filter { $0.path == d } } ?? state.received }
    }

    /// Accepted (2xx) message ids of a destination, in arrival order.
    func delivered(_ destination: String) -> [Received] { received(destination).filter { $0.status == 200 } }

    private func answer(path: String, body: [UInt8], authorization: String?) async throws -> Response {
        let json = try? JSON(parsing: body)
        let now = ContinuousClock.now
        let mode: Mode = state.withLock { state in
            var mode = Mode.ok
            if let rule = state.rules[path] {
                if let until = rule.until, until <= now { state.rules[path] = nil } else { mode = rule.mode }
            }
            let status: Int
            switch mode {
            case .ok: status = 200
            case .status(let code, _): status = code
            case .hang: status = 0
            }
            state.received.append(
                Received(
                    path: path, messageId: json?["messageId"]?.stringValue ?? "", userKey: json?["userKey"]?.stringValue ?? "",
                    status: status, at: now, sentAtMillis: json?["sentAt"]?.intValue, authorization: authorization
                ))
            return mode
        }
        switch mode {
        case .ok:
            return Response(status: .ok, body: ResponseBody(byteBuffer: ByteBuffer(string: "{\"ok\":true}")))
        case .status(let code, let retryAfter):
            var headers = HTTPFields()
            if let retryAfter { headers[.retryAfter] = retryAfter }
            return Response(
                status: .init(code: code), headers: headers,
                body: ResponseBody(byteBuffer: ByteBuffer(string: "{\"error\":\"told to answer \(code)\"}")))
        case .hang:
            try await Task.sleep(for: .seconds(3600))
            return Response(status: .ok)
        }
    }
}

/// Lets the route closure reach the sink created after the application.
private final class SinkBox: Sendable {
    let sink = Mutex<TestSink?>(nil)
}

import Hummingbird
import Logging

/// A Hummingbird router served on an ephemeral port of 127.0.0.1, for tests that stand in for a
/// remote API. ``start(router:label:)`` returns once the port is bound.
public struct LoopbackHTTPServer: Sendable {
    public let port: Int
    private let task: Task<Void, Error>

    public var baseURL: String { "http://127.0.0.1:\(port)" }

    public static func start(router: Hummingbird.Router<BasicRequestContext>, label: String) async -> LoopbackHTTPServer {
        var logger = Logger(label: label)
        logger.logLevel = .critical
        let (portStream, portContinuation) = AsyncStream.makeStream(of: Int.self)
        let app = Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0), serverName: nil),
            onServerRunning: { channel in portContinuation.yield(channel.localAddress?.port ?? 0) }, logger: logger)
        let task = Task { try await app.runService() }
        var iterator = portStream.makeAsyncIterator()
        let port = await iterator.next() ?? 0
        return LoopbackHTTPServer(port: port, task: task)
    }

    public func stop() async {
        task.cancel()
        _ = try? await task.value
    }
}

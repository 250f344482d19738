public import Hummingbird
public import Logging
public import ServiceLifecycle

/// The admin HTTP endpoints every Keel process serves:
///
/// - `GET /metrics`: Prometheus text exposition of the registry, with ``ProcessMetrics`` refreshed.
/// - `GET /health/live`: 200 `live` while the process runs.
/// - `GET /health/ready`: 200 `ready` when every readiness check passes, else 503 with
///   `not ready` and one failing check per line.
///
/// Runs as a `Service` on its own port (`KEEL_ADMIN_HOST:KEEL_ADMIN_PORT`); put it last in the
/// process's `ServiceGroup` so that it stops first on shutdown. A service with its own public
/// HTTP server (the gateway) can also mount the same routes there with ``AdminRoutes``.
public struct AdminServer: Service, CustomStringConvertible {
    /// Where the admin server listens.
    public struct Configuration: Sendable, Equatable {
        /// Bind address. Default `0.0.0.0`.
        public var host: String
        /// Port; `0` picks a free one.
        public var port: Int

        public init(host: String = RuntimeConfiguration.defaultAdminHost, port: Int) {
            self.host = host
            self.port = port
        }

        /// The admin address of a runtime configuration.
        public init(_ runtime: RuntimeConfiguration) {
            self.init(host: runtime.adminHost, port: runtime.adminPort)
        }
    }

    public let configuration: Configuration
    private let readiness: Readiness
    private let registry: MetricsRegistry
    private let logger: Logger
    private let onListening: (@Sendable (Int) async -> Void)?

    /// - Parameters:
    ///   - configuration: where to listen.
    ///   - readiness: the checks behind `/health/ready`.
    ///   - registry: the metrics behind `/metrics` (``MetricsBootstrap/bootstrap()`` in `main`).
    ///   - logger: the process logger.
    ///   - onListening: called with the bound port once the server listens (useful with port 0).
    public init(
        configuration: Configuration,
        readiness: Readiness,
        registry: MetricsRegistry,
        logger: Logger,
        onListening: (@Sendable (Int) async -> Void)? = nil
    ) {
        self.configuration = configuration
        self.readiness = readiness
        self.registry = registry
        self.logger = logger
        self.onListening = onListening
    }

    /// The Hummingbird application ``run()`` runs; tests drive it with HummingbirdTesting.
    public func makeApplication() -> some ApplicationProtocol {
        let router = Router()
        AdminRoutes.add(to: router, readiness: self.readiness, registry: self.registry)
        let onListening = self.onListening
        return Application(
            router: router,
            configuration: .init(
                address: .hostname(self.configuration.host, port: self.configuration.port),
                serverName: nil
            ),
            onServerRunning: { channel in
                await onListening?(channel.localAddress?.port ?? 0)
            },
            logger: self.logger
        )
    }

    /// Serves until graceful shutdown.
    public func run() async throws {
        try await self.makeApplication().run()
    }

    public var description: String { "AdminServer" }
}

/// The admin routes, for mounting on any Hummingbird router.
public enum AdminRoutes {
    /// Content type of the Prometheus text exposition format.
    public static let metricsContentType = "text/plain; version=0.0.4; charset=utf-8"

    /// Adds `GET /metrics`, `GET /health/live` and `GET /health/ready` to `router`.
    public static func add<Context: RequestContext>(
        to router: Router<Context>,
        readiness: Readiness,
        registry: MetricsRegistry
    ) {
        let process = ProcessMetrics.on(registry)
        router.get("/metrics") { _, _ -> Response in
            process.refresh()
            var buffer = ByteBuffer()
            buffer.writeBytes(registry.emitToBuffer())
            return Response(
                status: .ok,
                headers: [.contentType: metricsContentType],
                body: .init(byteBuffer: buffer)
            )
        }
        router.get("/health/live") { _, _ -> Response in
            plainText(.ok, "live\n")
        }
        router.get("/health/ready") { _, _ -> Response in
            let report = await readiness.evaluate()
            if report.isReady {
                return plainText(.ok, "ready\n")
            }
            return plainText(.serviceUnavailable, "not ready\n" + report.failing.map { $0 + "\n" }.joined())
        }
    }

    private static func plainText(_ status: HTTPResponse.Status, _ text: String) -> Response {
        Response(
            status: status,
            headers: [.contentType: "text/plain; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(string: text))
        )
    }
}

import EventModel
public import Hummingbird
public import KafkaTransport
public import Logging
public import Metrics
import HTTPTypes

/// Builds the gateway's public HTTP application (docs/gateway.md). `main` and the tests both
/// call this, so tests exercise the same wiring as production.
///
/// - Parameters:
///   - configuration: port, limits, topic prefix.
///   - producer: the process's Kafka producer; it must be running (in the same ServiceGroup).
///   - sources: write-key lookups, typically backed by the workspace `ConfigStore`.
///   - logger: the service logger.
///   - metrics: where metrics go; nil means the bootstrapped `MetricsSystem`.
public func buildGateway(
    configuration: GatewayConfiguration,
    producer: KafkaProducer,
    sources: any SourceDirectory,
    logger: Logger,
    metrics: (any MetricsFactory)? = nil,
    onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
) -> some ApplicationProtocol {
    let router = buildGatewayRouter(
        configuration: configuration, producer: producer, sources: sources, logger: logger, metrics: metrics)
    return Application(
        router: router,
        configuration: .init(
            address: .hostname(configuration.host, port: configuration.port),
            serverName: "keel-gateway"
        ),
        onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? configuration.port) },
        logger: logger
    )
}

/// The router behind ``buildGateway(configuration:producer:sources:logger:metrics:onServerRunning:)``.
public func buildGatewayRouter(
    configuration: GatewayConfiguration,
    producer: KafkaProducer,
    sources: any SourceDirectory,
    logger: Logger,
    metrics: (any MetricsFactory)? = nil
) -> Router<GatewayRequestContext> {
    let pipeline = IngestPipeline(
        configuration: configuration,
        producer: producer,
        sources: sources,
        limiter: RateLimiter(),
        topic: Topics(prefix: configuration.topicPrefix).ingest,
        logger: logger
    )
    let handlers = GatewayHandlers(pipeline: pipeline, metrics: GatewayMetrics(factory: metrics ?? MetricsSystem.factory))
    let router = Router(context: GatewayRequestContext.self)
    router.add(
        middleware: CORSMiddleware(
            allowOrigin: .originBased,
            allowHeaders: [.accept, .authorization, .contentType, .contentEncoding, .origin, .anonymousId],
            allowMethods: [.get, .post, .options],
            allowCredentials: true,
            maxAge: .seconds(86_400)
        )
    )

    router.get("health") { _, _ in PlainText.response(.ok, "OK") }

    for type in EventType.allCases {
        router.post("v1/\(type.rawValue)") { request, context in
            await handlers.ingest(request, context: context, endpoint: .single(type))
        }
    }
    // analytics.js (Segment) posts to one-letter paths under its apiHost.
    let segmentPaths: [(String, EventType)] = [
        ("t", .track), ("p", .page), ("s", .screen), ("i", .identify), ("g", .group), ("a", .alias),
    ]
    for (path, type) in segmentPaths {
        router.post("v1/\(path)") { request, context in
            await handlers.ingest(request, context: context, endpoint: .single(type))
        }
    }
    for path in ["v1/batch", "v1/b", "beacon/v1/batch"] {
        router.post(RouterPath(path)) { request, context in
            await handlers.ingest(request, context: context, endpoint: .batch)
        }
    }
    router.post("v1/import") { request, context in
        await handlers.ingest(request, context: context, endpoint: .importBatch)
    }
    router.get("pixel/v1/track") { request, context in
        await handlers.pixel(request, context: context, type: .track)
    }
    router.get("pixel/v1/page") { request, context in
        await handlers.pixel(request, context: context, type: .page)
    }
    router.post("v1/webhook") { request, context in
        await handlers.webhook(request, context: context)
    }
    router.get("v1/webhook") { request, context in
        await handlers.webhook(request, context: context)
    }
    router.get("sourceConfig") { request, _ in
        handlers.sourceConfig(request)
    }
    router.get("v1/projects/:writeKey/settings") { request, context in
        handlers.segmentSettings(request, writeKey: context.parameters.get("writeKey") ?? "")
    }
    return router
}

import AsyncHTTPClient
import EventModel
import Hummingbird
import KafkaTransport
import Logging
import ServiceLifecycle
import Storage

/// The router's services, as `main` wires them: the ``Router`` (which migrates schema `router`
/// when it starts), the HTTP client's shutdown, and, when a token is set, the failed-events API.
/// The database and consumer must run in the same group, before these.
public func buildRouter(
    settings: RouterSettings, database: Database, consumer: KafkaConsumer, httpClient: HTTPClient,
    httpClientsByType: [String: HTTPClient] = [:], topics: Topics = Topics(), sealer: JobSealer? = nil,
    policies: @escaping DeliveryPolicyProvider, logger: Logger
) -> [any Service] {
    let store = RouterStore(database: database, sealer: sealer, logger: logger)
    if let sealer {
        logger.info("parked and failed jobs are sealed at rest", metadata: ["key_id": "\(sealer.sealingKeyID)"])
    } else {
        logger.warning("KEEL_STORED_JOB_KEYS is not set: parked and failed jobs are stored in plain text, API keys included")
    }
    var configuration = settings.routerConfiguration
    configuration.topics = topics
    let router = Router(
        configuration: configuration, consumer: consumer, store: store, httpClient: httpClient,
        httpClientsByType: httpClientsByType, policies: policies, logger: logger)
    var services: [any Service] = [router, HTTPClientService(clients: [httpClient] + httpClientsByType.values)]
    if let token = settings.adminToken {
        let api = FailedEventsAPI(store: FailedEventStore(database: database, logger: logger), token: token)
        services.append(FailedEventsServer(api: api, host: settings.apiHost, port: settings.apiPort, logger: logger))
    } else {
        logger.warning("KEEL_ADMIN_TOKEN is not set: the failed-events API is off (use `keel failed`)")
    }
    return services
}

/// Shuts the HTTP clients down when the group stops.
struct HTTPClientService: Service {
    let clients: [HTTPClient]

    func run() async throws {
        try? await gracefulShutdown()
        for client in clients { try await client.shutdown() }
    }
}

/// The failed-events API on its own port.
struct FailedEventsServer: Service {
    let api: FailedEventsAPI
    let host: String
    let port: Int
    let logger: Logger

    func run() async throws {
        try await api.makeApplication(host: host, port: port, logger: logger).run()
    }
}

/// Router-specific settings beyond ``Router/Configuration``: the failed-events API and the HTTP
/// client. Read from the environment in `RouterSettings+Environment.swift`.
public struct RouterSettings: Sendable, Equatable {
    /// Bound on jobs in memory before the consumer waits (`KEEL_ROUTER_MAX_JOBS_IN_MEMORY`, 20,000).
    public var maxJobsInMemory = 20_000
    /// Jobs of one user at one destination kept in memory before parking
    /// (`KEEL_ROUTER_MAX_QUEUED_PER_USER`, 50).
    public var maxQueuedPerUser = 50
    /// Jobs of one destination kept in memory before parking
    /// (`KEEL_ROUTER_MAX_QUEUED_PER_DESTINATION`, 2,000).
    public var maxQueuedPerDestination = 2_000
    /// HTTP/1.1 connections per destination host (`KEEL_ROUTER_CONNECTIONS_PER_HOST`, 128).
    public var connectionsPerHost = 128
    /// Failed-events API bind host and port (`KEEL_ROUTER_API_HOST`, `0.0.0.0`;
    /// `KEEL_ROUTER_API_PORT`, 9193).
    public var apiHost = "0.0.0.0"
    public var apiPort = 9193
    /// Bearer token of the failed-events API (`KEEL_ADMIN_TOKEN`); the API is off without one.
    public var adminToken: String?

    public init() {}

    /// The ``Router/Configuration`` these settings describe.
    public var routerConfiguration: Router.Configuration {
        var configuration = Router.Configuration()
        configuration.maxJobsInMemory = maxJobsInMemory
        configuration.limits = .init(maxQueuedPerKey: maxQueuedPerUser, maxQueuedPerDestination: maxQueuedPerDestination)
        return configuration
    }
}

extension RouterSettings: CustomStringConvertible {
    /// The settings without the token.
    public var description: String {
        "RouterSettings(maxJobsInMemory: \(maxJobsInMemory), maxQueuedPerUser: \(maxQueuedPerUser), "
            + "maxQueuedPerDestination: \(maxQueuedPerDestination), api: \(apiHost):\(apiPort), token: \(adminToken == nil ? "unset" : "set"))"
    }
}

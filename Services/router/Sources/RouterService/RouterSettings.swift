/// Router-specific settings beyond ``Router/Configuration``: the failed-events API and the HTTP
/// client. Read from the environment in `RouterSettings+Environment.swift`.
public struct RouterSettings: Sendable, Equatable {
    /// Bound on jobs in memory before the consumer waits (`KEEL_ROUTER_MAX_JOBS_IN_MEMORY`, 40,000).
    public var maxJobsInMemory = 40_000
    /// Jobs of one user at one destination kept in memory before parking
    /// (`KEEL_ROUTER_MAX_QUEUED_PER_USER`, 50).
    public var maxQueuedPerUser = 50
    /// Jobs of one destination kept in memory before parking
    /// (`KEEL_ROUTER_MAX_QUEUED_PER_DESTINATION`, 10,000).
    public var maxQueuedPerDestination = 10_000
    /// HTTP/1.1 connections per destination host (`KEEL_ROUTER_CONNECTIONS_PER_HOST`, 128), for
    /// destination types without their own value. AsyncHTTPClient's own default (8) would cap the
    /// requests in flight to one tool's host at 8.
    public var connectionsPerHost = Self.defaultConnectionsPerHost
    public static let defaultConnectionsPerHost = 128
    /// Destination types with their own HTTP client and per-host connection limit
    /// (`KEEL_ROUTER_CONNECTIONS_PER_HOST_BY_TYPE`, e.g. `amplitude=32,webhook=256`; empty by default).
    public var connectionsPerHostByType: [String: Int] = [:]
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
            + "maxQueuedPerDestination: \(maxQueuedPerDestination), connectionsPerHost: \(connectionsPerHost), "
            + "connectionsPerHostByType: \(connectionsPerHostByType.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",")), "
            + "api: \(apiHost):\(apiPort), token: \(adminToken == nil ? "unset" : "set"))"
    }
}

import EventModel

/// Workspace-wide settings (`settings:` in the file, optional).
///
/// Sections Keel does not know yet are kept in ``raw`` so that a service can read its own section.
public struct WorkspaceSettings: Sendable, Equatable {
    public var gateway: GatewaySettings
    public var transformations: TransformationSettings
    /// The whole `settings` object as written.
    public var raw: JSONObject

    public init(
        gateway: GatewaySettings = GatewaySettings(), transformations: TransformationSettings = TransformationSettings(),
        raw: JSONObject = JSONObject()
    ) {
        self.gateway = gateway
        self.transformations = transformations
        self.raw = raw
    }
}

/// `settings.transformations`: what the workspace's user transformations may reach.
public struct TransformationSettings: Sendable, Equatable {
    /// Hosts (`name`, or `name:port` for one port only) that `fetch` and `fetchV2` may call, e.g.
    /// `person.clearbit.com`. Empty (the default): transformations cannot fetch. Key
    /// `fetchAllowedHosts`.
    public var fetchAllowedHosts: [String]

    public init(fetchAllowedHosts: [String] = []) {
        self.fetchAllowedHosts = fetchAllowedHosts
    }
}

/// `settings.gateway`: request limits of the HTTP gateway.
public struct GatewaySettings: Sendable, Equatable {
    /// Largest single event, in bytes. Default 32 KB (Segment's limit). Key `maxEventBytes`.
    public var maxEventBytes: Int
    /// Largest request body (after gunzip), in bytes. Default 500 KB. Key `maxRequestBytes`.
    public var maxRequestBytes: Int
    /// Events per second for the whole workspace; `nil` (the default) means no limit. Key `rateLimit`.
    public var rateLimit: Int?

    public static let defaultMaxEventBytes = 32 * 1024
    public static let defaultMaxRequestBytes = 500 * 1024

    public init(
        maxEventBytes: Int = GatewaySettings.defaultMaxEventBytes,
        maxRequestBytes: Int = GatewaySettings.defaultMaxRequestBytes,
        rateLimit: Int? = nil
    ) {
        self.maxEventBytes = maxEventBytes
        self.maxRequestBytes = maxRequestBytes
        self.rateLimit = rateLimit
    }
}

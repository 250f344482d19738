public import WorkspaceConfig

/// What the gateway knows about one source: enough to authenticate, route and limit its events.
public struct GatewaySource: Sendable, Equatable {
    /// Whether the source takes SDK calls or raw webhook bodies.
    public enum Kind: String, Sendable {
        case sdk
        case webhook
    }

    public var workspaceId: String
    public var id: String
    public var name: String
    /// A credential: never log it or put it in an error message.
    public var writeKey: String
    public var enabled: Bool
    public var kind: Kind
    /// Events per second allowed for this source (token bucket); nil means unlimited.
    public var eventsPerSecond: Double?
    /// Events per second allowed for the whole workspace; nil means unlimited.
    public var workspaceEventsPerSecond: Double?
    /// The workspace's limits on one event and one request, in bytes; nil keeps the gateway's.
    public var maxEventBytes: Int?
    public var maxRequestBytes: Int?

    public init(
        workspaceId: String,
        id: String,
        name: String,
        writeKey: String,
        enabled: Bool = true,
        kind: Kind = .sdk,
        eventsPerSecond: Double? = nil,
        workspaceEventsPerSecond: Double? = nil
    ) {
        self.workspaceId = workspaceId
        self.id = id
        self.name = name
        self.writeKey = writeKey
        self.enabled = enabled
        self.kind = kind
        self.eventsPerSecond = eventsPerSecond
        self.workspaceEventsPerSecond = workspaceEventsPerSecond
    }
}

/// Looks sources up by write key. Called once per request, so it must be cheap (a snapshot read,
/// no I/O); the answer may change between calls when the workspace configuration is reloaded.
public protocol SourceDirectory: Sendable {
    func source(writeKey: String) -> GatewaySource?
}

/// A fixed set of sources, for tools and tests that have no configuration store.
public struct StaticSourceDirectory: SourceDirectory {
    private let sources: [String: GatewaySource]

    public init(_ sources: [GatewaySource]) {
        self.sources = Dictionary(sources.map { ($0.writeKey, $0) }, uniquingKeysWith: { first, _ in first })
    }

    public func source(writeKey: String) -> GatewaySource? {
        sources[writeKey]
    }
}

extension GatewaySource {
    /// The gateway's view of a configured source of `workspace`.
    public init(_ source: Source, in workspace: Workspace) {
        self.init(
            workspaceId: workspace.id,
            id: source.id,
            name: source.name,
            writeKey: source.writeKey,
            enabled: source.enabled,
            kind: source.type == .webhook ? .webhook : .sdk,
            eventsPerSecond: source.rateLimit.map(Double.init),
            workspaceEventsPerSecond: workspace.settings.gateway.rateLimit.map(Double.init)
        )
        self.maxEventBytes = workspace.settings.gateway.maxEventBytes
        self.maxRequestBytes = workspace.settings.gateway.maxRequestBytes
    }
}

extension StaticSourceDirectory {
    /// Every source of one workspace snapshot.
    public init(workspace: Workspace) {
        self.init(workspace.sources.map { GatewaySource($0, in: workspace) })
    }
}

/// Sources from the workspace `ConfigStore`: every request reads the current snapshot, so key
/// rotations, new sources and disabled sources apply without a restart.
public struct ConfigStoreSources: SourceDirectory {
    public let store: ConfigStore

    public init(store: ConfigStore) {
        self.store = store
    }

    public func source(writeKey: String) -> GatewaySource? {
        guard let snapshot = store.snapshot, let source = snapshot.source(writeKey: writeKey) else { return nil }
        var gatewaySource = GatewaySource(source, in: snapshot.workspace)
        // The stored key may be a `${ENV}` reference; the resolved key is the one that matched.
        gatewaySource.writeKey = writeKey
        return gatewaySource
    }
}

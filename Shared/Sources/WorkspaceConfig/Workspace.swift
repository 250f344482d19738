import EventModel

/// One workspace as declared in the workspace file: who may send (sources), where events go
/// (destinations), which source feeds which destination (connections), and the JavaScript that may
/// rewrite events on the way (transformations and their libraries).
///
/// String values may name environment variables as `${NAME}`; they are kept as written here and
/// resolved by the service that uses them (see ``SecretResolver``).
public struct Workspace: Sendable, Equatable {
    /// The workspace id (`workspace:` in the file). Letters, digits, `_`, `-`, `.`.
    public var id: String
    public var sources: [Source]
    public var destinations: [Destination]
    public var connections: [Connection]
    public var transformations: [Transformation]
    public var libraries: [Library]
    public var settings: WorkspaceSettings

    public init(
        id: String,
        sources: [Source] = [],
        destinations: [Destination] = [],
        connections: [Connection] = [],
        transformations: [Transformation] = [],
        libraries: [Library] = [],
        settings: WorkspaceSettings = WorkspaceSettings()
    ) {
        self.id = id
        self.sources = sources
        self.destinations = destinations
        self.connections = connections
        self.transformations = transformations
        self.libraries = libraries
        self.settings = settings
    }
}

/// Where events come from: an SDK or a webhook caller, identified by its write key.
public struct Source: Sendable, Equatable {
    /// How events arrive.
    public enum Kind: String, Sendable, Equatable, CaseIterable {
        /// RudderStack/Segment SDKs and HTTP API (`/v1/track`, `/v1/batch`, …). The default.
        case sdk
        /// Arbitrary JSON posted to `/v1/webhook?writeKey=…`.
        case webhook
    }

    public var id: String
    /// Display name. Default: the id.
    public var name: String
    /// HTTP Basic username the SDK sends. Unique in the workspace. May be `${ENV}`.
    public var writeKey: String
    /// A disabled source's requests get 404. Default `true`.
    public var enabled: Bool
    /// Default ``Kind/sdk``.
    public var type: Kind
    /// Events per second accepted for this source; `nil` means no per-source limit.
    public var rateLimit: Int?

    public init(
        id: String, name: String? = nil, writeKey: String, enabled: Bool = true, type: Kind = .sdk,
        rateLimit: Int? = nil
    ) {
        self.id = id
        self.name = name ?? id
        self.writeKey = writeKey
        self.enabled = enabled
        self.type = type
        self.rateLimit = rateLimit
    }
}

/// Which events a destination accepts by event name (`track` events' `event`, else the message type).
public enum EventFilter: Sendable, Equatable {
    /// Only these names pass.
    case allow([String])
    /// These names are dropped; everything else passes.
    case deny([String])
}

/// A tool events are delivered to, or a storage/warehouse target.
public struct Destination: Sendable, Equatable {
    public var id: String
    /// Display name; also the key of this destination in an event's `integrations` object.
    public var name: String
    /// Destination type (`webhook`, `customerio`, `ga4`, `s3`, …). Selects mapping and config checks.
    public var type: String
    /// Default `true`. Disabled destinations receive nothing.
    public var enabled: Bool
    /// The type-specific settings, as written (with `${ENV}` references unresolved). Always an object.
    public var config: JSON
    /// Id of the user transformation applied before delivery, if any.
    public var transformation: String?
    /// Event-name allow or deny list, if any.
    public var eventFilter: EventFilter?
    /// Consent category ids this destination needs. An event whose
    /// `context.consentManagement.deniedConsentIds` contains any of them is not delivered here.
    public var consentCategories: [String]

    public init(
        id: String, name: String, type: String, enabled: Bool = true, config: JSON = .object(JSONObject()),
        transformation: String? = nil, eventFilter: EventFilter? = nil, consentCategories: [String] = []
    ) {
        self.id = id
        self.name = name
        self.type = type
        self.enabled = enabled
        self.config = config
        self.transformation = transformation
        self.eventFilter = eventFilter
        self.consentCategories = consentCategories
    }
}

/// Events from `source` go to each of `destinations`.
public struct Connection: Sendable, Equatable {
    public var source: String
    public var destinations: [String]

    public init(source: String, destinations: [String]) {
        self.source = source
        self.destinations = destinations
    }
}

/// A user transformation: JavaScript exporting `transformEvent(event, metadata)` or
/// `transformBatch(events, metadata)`.
public struct Transformation: Sendable, Equatable {
    public enum Language: String, Sendable, Equatable, CaseIterable {
        case javascript
    }

    public var id: String
    /// Display name. Default: the id.
    public var name: String
    public var code: String
    /// Default ``Language/javascript`` (the only one).
    public var language: Language

    public init(id: String, name: String? = nil, code: String, language: Language = .javascript) {
        self.id = id
        self.name = name ?? id
        self.code = code
        self.language = language
    }

    /// Module names imported with `import … from '<name>'`, in order of appearance.
    public var importedLibraries: [String] { JavaScriptImports.modules(in: code) }
}

/// A JavaScript module that transformations import by `name`.
public struct Library: Sendable, Equatable {
    public var name: String
    public var code: String

    public init(name: String, code: String) {
        self.name = name
        self.code = code
    }
}

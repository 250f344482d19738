import EventModel

/// The one table of destination types. Adding a destination = a folder with its mapping and
/// fixtures, and a row here.
public struct DestinationRegistry: Sendable {
    public let definitions: [DestinationDefinition]
    private let byType: [String: DestinationDefinition]

    public init(_ definitions: [DestinationDefinition]) {
        self.definitions = definitions
        var byType: [String: DestinationDefinition] = [:]
        for definition in definitions { byType[definition.type] = definition }
        self.byType = byType
    }

    /// Every destination type Keel ships.
    public static let standard = DestinationRegistry([
        WebhookMapping.definition,
        CustomerIOMapping.definition,
        GA4Mapping.definition,
        AmplitudeMapping.definition,
        MixpanelMapping.definition,
        HubSpotMapping.definition,
        BrazeMapping.definition,
        SlackMapping.definition,
        IntercomMapping.definition,
        SalesforceMapping.definition,
        BatchRowMapping.definition(type: "s3", displayName: "S3", secretConfigKeys: ["secretAccessKey"]),
        BatchRowMapping.definition(type: "local_storage", displayName: "Local Storage", secretConfigKeys: []),
        BatchRowMapping.definition(type: "postgres", displayName: "Postgres", secretConfigKeys: ["password"]),
        BatchRowMapping.definition(type: "snowflake", displayName: "Snowflake", secretConfigKeys: ["password", "privateKey", "secretAccessKey", "sessionToken"]),
    ])

    /// The definition of `type` (as written in the workspace file), or `nil` when unknown.
    public func definition(forType type: String) -> DestinationDefinition? { byType[type] }
}

extension DestinationRegistry {
    /// Every topic the services use: ingest, batch, and one deliver topic per stream destination
    /// type. `keel topics` prints them, for creating them up front (a `^keel\.deliver\..*`
    /// subscriber sees a topic created after it joined only at its next metadata refresh).
    public func topics(_ topics: Topics) -> [String] {
        [topics.ingest, topics.batch] + definitions.filter { $0.kind == .stream }.map { topics.deliver(destinationType: $0.type) }
    }
}

import Destinations
import EventModel
import WorkspaceConfig

/// A connected destination as the processor uses it: the workspace's settings plus the registry
/// row and the mapper, built once per workspace version (with `${ENV}` secrets resolved).
public struct RoutedDestination: Sendable {
    public let id: String
    public let name: String
    public let type: String
    /// The registry row; `nil` for a type this build does not know.
    public let definition: DestinationDefinition?
    /// The mapper, or why it could not be built (unknown type, invalid config, unresolved secret).
    /// The reason names keys and variables, never values.
    public let mapper: Result<any EventMapper, RouteError>
    public let transformationId: String?
    public let eventFilter: EventFilter?
    public let consentCategories: [String]
    /// Keys that address this destination in `integrations`, in precedence order.
    public let integrationKeys: [String]

    public struct RouteError: Error, Sendable, Equatable {
        public var reason: String
    }

    public init(destination: Destination, registry: DestinationRegistry, secrets: SecretResolver) {
        id = destination.id
        name = destination.name
        type = destination.type
        transformationId = destination.transformation
        eventFilter = destination.eventFilter
        consentCategories = destination.consentCategories
        let definition = registry.definition(forType: destination.type)
        self.definition = definition
        var keys = [destination.id, destination.name]
        if let definition { keys += [definition.displayName] + definition.integrationAliases }
        var seen = Set<String>()
        integrationKeys = keys.filter { seen.insert($0).inserted }
        guard let definition else {
            mapper = .failure(RouteError(reason: "unknown destination type \(destination.type)"))
            return
        }
        do {
            let config = try secrets.resolve(destination.config, at: "config")
            mapper = .success(try definition.makeMapper(config))
        } catch let error as SecretResolutionError {
            mapper = .failure(RouteError(reason: "\(error)"))
        } catch let error as DestinationConfigError {
            mapper = .failure(RouteError(reason: "invalid config: \(error)"))
        } catch {
            mapper = .failure(RouteError(reason: "invalid config"))
        }
    }

    /// Whether the destination's deliveries go to `keel.batch` rather than a deliver topic.
    public var isBatch: Bool { definition?.kind == .batch }
}

/// The connected destinations of every source of one workspace version.
public final class RoutingTable: Sendable {
    public let workspaceId: String
    public let version: Int64
    private let bySource: [String: [RoutedDestination]]

    public init(snapshot: WorkspaceSnapshot, registry: DestinationRegistry, secrets: SecretResolver) {
        workspaceId = snapshot.workspace.id
        version = snapshot.version
        var bySource: [String: [RoutedDestination]] = [:]
        var built: [String: RoutedDestination] = [:]
        for source in snapshot.workspace.sources {
            bySource[source.id] = snapshot.destinations(forSource: source.id).map { destination in
                if let existing = built[destination.id] { return existing }
                let routed = RoutedDestination(destination: destination, registry: registry, secrets: secrets)
                built[destination.id] = routed
                return routed
            }
        }
        self.bySource = bySource
    }

    /// Enabled destinations connected to `sourceId`, in connection order.
    public func destinations(forSource sourceId: String) -> [RoutedDestination] { bySource[sourceId] ?? [] }
}

import Destinations
import Synchronization
import WorkspaceConfig

/// The routing table of the current workspace version, rebuilt (mappers included) only when the
/// version changes. Checked once per batch: a lock and an integer compare.
public final class RoutingCache: Sendable {
    private let snapshot: @Sendable () -> WorkspaceSnapshot?
    private let registry: DestinationRegistry
    private let secrets: SecretResolver
    private let cached = Mutex<RoutingTable?>(nil)

    public init(
        registry: DestinationRegistry, secrets: SecretResolver, snapshot: @escaping @Sendable () -> WorkspaceSnapshot?
    ) {
        self.snapshot = snapshot
        self.registry = registry
        self.secrets = secrets
    }

    /// The table for the current version; `nil` before the first workspace version loads.
    public func current() -> RoutingTable? {
        guard let snapshot = snapshot() else { return nil }
        if let table = cached.withLock({ $0 }), table.version == snapshot.version, table.workspaceId == snapshot.workspace.id {
            return table
        }
        let table = RoutingTable(snapshot: snapshot, registry: registry, secrets: secrets)
        cached.withLock { $0 = table }
        return table
    }
}

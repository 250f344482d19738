import AsyncHTTPClient
import Logging
import ObjectStorage
import Warehouse
import WarehousePostgres
import WarehouseSnowflake
import WorkspaceConfig

/// Batch destinations of the current workspace version, parsed once per version, and their sinks,
/// kept while their settings do not change (a warehouse loader keeps its schema cache).
struct DestinationCache {
    enum Resolved {
        case valid(BatchDestination)
        /// In the workspace, but its settings cannot work (a missing `${ENV}`, a bad key).
        case invalid(BatchDestination, BatchDestinationError)
        /// Not in the workspace, disabled, or not a batch type.
        case gone
    }

    private var version: Int64 = -1
    private var parsed: [String: Resolved] = [:]
    private var sinks: [String: (destination: BatchDestination, sink: any BatchSink)] = [:]
    /// Destinations whose dropped rows were already logged under this workspace version.
    private var dropsLogged: Set<String> = []

    /// Whether this is the first dropped row of `id` under the current workspace version (log it once).
    mutating func firstDrop(of id: String) -> Bool {
        dropsLogged.insert(id).inserted
    }

    mutating func destination(_ id: String, snapshot: WorkspaceSnapshot?, secrets: SecretResolver) -> Resolved {
        guard let snapshot else { return .gone }
        if snapshot.version != version {
            version = snapshot.version
            parsed = [:]
            dropsLogged = []
        }
        if let resolved = parsed[id] { return resolved }
        let resolved: Resolved
        if let destination = snapshot.destination(id: id), destination.enabled, BatchDestination.types.contains(destination.type) {
            do throws(BatchDestinationError) {
                resolved = .valid(try BatchDestination(destination, secrets: secrets))
            } catch {
                resolved = .invalid(Self.placeholder(destination), error)
            }
        } else {
            resolved = .gone
        }
        parsed[id] = resolved
        return resolved
    }

    /// The flush interval of a destination's rows, or nil when its rows have nowhere to go.
    mutating func interval(_ id: String, snapshot: WorkspaceSnapshot?, secrets: SecretResolver) -> Duration? {
        switch destination(id, snapshot: snapshot, secrets: secrets) {
        case .valid(let destination), .invalid(let destination, _): destination.uploadInterval
        case .gone: nil
        }
    }

    mutating func sink(
        for destination: BatchDestination, httpClient: HTTPClient, gzipLevel: Int32, logger: Logger
    ) throws -> any BatchSink {
        if let cached = sinks[destination.id], cached.destination == destination { return cached.sink }
        let sink: any BatchSink
        switch destination.target {
        case .s3(let target):
            sink = ObjectStorageSink(
                store: try S3Client(configuration: target.configuration, httpClient: httpClient), prefix: target.prefix,
                gzipLevel: gzipLevel)
        case .localStorage(let path, let prefix):
            sink = ObjectStorageSink(store: LocalDirectoryStore(root: path), prefix: prefix, gzipLevel: gzipLevel)
        case .postgres(let configuration):
            sink = WarehouseSink(
                loader: PostgresWarehouseLoader(configuration: configuration, logger: logger), builder: RowBuilder(),
                location: configuration.location)
        case .snowflake(let configuration):
            sink = WarehouseSink(
                loader: try SnowflakeWarehouseLoader(configuration: configuration, httpClient: httpClient, logger: logger),
                builder: RowBuilder(naming: WarehouseNaming(maxLength: 255)), location: configuration.location)
        }
        sinks[destination.id] = (destination, sink)
        return sink
    }

    /// A destination whose settings did not parse: enough to record history and retry.
    private static func placeholder(_ destination: Destination) -> BatchDestination {
        BatchDestination(
            id: destination.id, type: destination.type, target: .localStorage(path: "", prefix: ""),
            uploadInterval: destination.type == "postgres" || destination.type == "snowflake" ? .seconds(30 * 60) : .seconds(5 * 60))
    }
}

import Foundation

/// One loaded version of a workspace with its lookup tables, built once when the version loads.
/// Immutable: take one snapshot per request or batch so that every lookup sees the same version.
public final class WorkspaceSnapshot: Sendable {
    /// The stored version this snapshot was built from.
    public let version: Int64
    public let workspace: Workspace
    /// Sources whose `${…}` write key could not be resolved; they are left out of ``source(writeKey:)``.
    public let unresolvedWriteKeys: [SecretResolutionError]

    private let sourcesByWriteKey: [String: Source]
    private let sourcesByID: [String: Source]
    private let destinationsByID: [String: Destination]
    private let destinationsBySource: [String: [Destination]]
    private let transformationsByID: [String: Transformation]
    private let librariesByName: [String: Library]

    /// - Parameter secrets: resolves write keys written as `${ENV}`.
    public init(version: Int64, workspace: Workspace, secrets: SecretResolver = SecretResolver(environment: [:])) {
        self.version = version
        self.workspace = workspace

        var byWriteKey: [String: Source] = [:]
        var unresolved: [SecretResolutionError] = []
        for (index, source) in workspace.sources.enumerated() {
            do throws(SecretResolutionError) {
                let key = try secrets.resolve(source.writeKey, at: "sources[\(index)].writeKey")
                byWriteKey[key] = byWriteKey[key] ?? source
            } catch {
                unresolved.append(error)
            }
        }
        self.sourcesByWriteKey = byWriteKey
        self.unresolvedWriteKeys = unresolved
        self.sourcesByID = Dictionary(workspace.sources.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        let destinations = Dictionary(workspace.destinations.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        self.destinationsByID = destinations

        var bySource: [String: [Destination]] = [:]
        var seen: Set<[String]> = []
        for connection in workspace.connections {
            for id in connection.destinations {
                guard let destination = destinations[id], destination.enabled,
                    seen.insert([connection.source, id]).inserted
                else { continue }
                bySource[connection.source, default: []].append(destination)
            }
        }
        self.destinationsBySource = bySource
        self.transformationsByID = Dictionary(
            workspace.transformations.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        self.librariesByName = Dictionary(workspace.libraries.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
    }

    /// The source with this (resolved) write key, enabled or not: a disabled source is a 404, an
    /// unknown key a 401.
    public func source(writeKey: String) -> Source? { sourcesByWriteKey[writeKey] }

    public func source(id: String) -> Source? { sourcesByID[id] }

    public func destination(id: String) -> Destination? { destinationsByID[id] }

    /// The enabled destinations connected to the source, in connection order, each once.
    public func destinations(forSource sourceID: String) -> [Destination] { destinationsBySource[sourceID] ?? [] }

    public func transformation(id: String) -> Transformation? { transformationsByID[id] }

    public func library(name: String) -> Library? { librariesByName[name] }
}

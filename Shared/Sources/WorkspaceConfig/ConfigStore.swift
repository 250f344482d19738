import EventModel
import Foundation
import Logging
import PostgresNIO
import ServiceLifecycle
import Storage

/// The current configuration of one workspace, kept up to date from Postgres without a restart.
///
/// A `Service`: run it in the process's `ServiceGroup` after the ``Storage/Database``. `run()`
/// migrates `keel_config`, `LISTEN`s on ``ConfigRepository/channel``, loads the latest version, reloads
/// on every notification for its workspace, and re-checks every
/// ``Configuration-swift.struct/recheckInterval`` in case a notification was lost while reconnecting.
///
/// Reading is cheap (a lock and a reference copy), so request paths can call ``snapshot`` or the lookups
/// directly. A version that fails to parse is logged and skipped; the previous one stays current.
public final class ConfigStore: Service, Sendable {
    public let configuration: Configuration
    private let repository: ConfigRepository
    private let secrets: SecretResolver
    private let logger: Logger
    private let state = LockedBox(State())

    private struct State {
        var snapshot: WorkspaceSnapshot?
        var workspaceID: String?
        var nextID = 0
        var firstLoadWaiters: [Int: CheckedContinuation<WorkspaceSnapshot, any Error>] = [:]
        var snapshotSubscribers: [Int: AsyncStream<WorkspaceSnapshot>.Continuation] = [:]
        var workspaceSubscribers: [Int: AsyncStream<Workspace>.Continuation] = [:]
        var reportedMissing = false
    }

    /// - Parameter secrets: resolves `${ENV}` write keys for ``source(writeKey:)``.
    public init(
        database: Database, configuration: Configuration = Configuration(),
        secrets: SecretResolver = SecretResolver(environment: [:]), logger: Logger
    ) {
        self.repository = ConfigRepository(database: database)
        self.configuration = configuration
        self.secrets = secrets
        var logger = logger
        if let workspace = configuration.workspace { logger[metadataKey: "workspace"] = "\(workspace)" }
        self.logger = logger
        if let workspace = configuration.workspace {
            state.withLock { $0.workspaceID = workspace }
        }
    }

    // MARK: Reading

    /// The latest loaded version with its lookup tables; `nil` until the first load.
    public var snapshot: WorkspaceSnapshot? { state.withLock { $0.snapshot } }

    /// The latest loaded workspace; `nil` until the first load.
    public var current: Workspace? { snapshot?.workspace }

    /// See ``WorkspaceSnapshot/source(writeKey:)``.
    public func source(writeKey: String) -> Source? { snapshot?.source(writeKey: writeKey) }

    /// See ``WorkspaceSnapshot/destinations(forSource:)``.
    public func destinations(forSource sourceID: String) -> [Destination] {
        snapshot?.destinations(forSource: sourceID) ?? []
    }

    public func transformation(id: String) -> Transformation? { snapshot?.transformation(id: id) }

    public func library(name: String) -> Library? { snapshot?.library(name: name) }

    /// Returns the current snapshot, waiting for the first load if there is none yet.
    /// Throws `CancellationError` when the calling task is cancelled while waiting.
    public func waitForFirstLoad() async throws -> WorkspaceSnapshot {
        let id = state.withLock { state -> Int in
            state.nextID += 1
            return state.nextID
        }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                let ready: WorkspaceSnapshot? = state.withLock { state in
                    if let snapshot = state.snapshot { return snapshot }
                    state.firstLoadWaiters[id] = continuation
                    return nil
                }
                if let ready {
                    continuation.resume(returning: ready)
                } else if Task.isCancelled {
                    cancelWaiter(id)
                }
            }
        } onCancel: {
            cancelWaiter(id)
        }
    }

    private func cancelWaiter(_ id: Int) {
        let waiter = state.withLock { $0.firstLoadWaiters.removeValue(forKey: id) }
        waiter?.resume(throwing: CancellationError())
    }

    /// Every newly loaded snapshot, starting with the current one if any. Buffers only the newest:
    /// a slow reader skips intermediate versions. Each access makes a new independent stream.
    public var snapshots: AsyncStream<WorkspaceSnapshot> {
        let (stream, continuation) = AsyncStream.makeStream(of: WorkspaceSnapshot.self, bufferingPolicy: .bufferingNewest(1))
        let id = state.withLock { state -> Int in
            state.nextID += 1
            state.snapshotSubscribers[state.nextID] = continuation
            if let snapshot = state.snapshot { continuation.yield(snapshot) }
            return state.nextID
        }
        continuation.onTermination = { [state] _ in
            _ = state.withLock { $0.snapshotSubscribers.removeValue(forKey: id) }
        }
        return stream
    }

    /// Like ``snapshots``, with the workspace model only.
    public var updates: AsyncStream<Workspace> {
        let (stream, continuation) = AsyncStream.makeStream(of: Workspace.self, bufferingPolicy: .bufferingNewest(1))
        let id = state.withLock { state -> Int in
            state.nextID += 1
            state.workspaceSubscribers[state.nextID] = continuation
            if let snapshot = state.snapshot { continuation.yield(snapshot.workspace) }
            return state.nextID
        }
        continuation.onTermination = { [state] _ in
            _ = state.withLock { $0.workspaceSubscribers.removeValue(forKey: id) }
        }
        return stream
    }

    // MARK: Loading

    /// Migrates, then follows notifications and re-checks periodically until cancelled or shut down.
    public func run() async throws {
        await cancelWhenGracefulShutdown {
            await self.migrateUntilDone()
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await self.listenLoop() }
                group.addTask { await self.recheckLoop() }
            }
        }
        let subscribers = state.withLock { state in
            defer {
                state.snapshotSubscribers = [:]
                state.workspaceSubscribers = [:]
            }
            return (Array(state.snapshotSubscribers.values), Array(state.workspaceSubscribers.values))
        }
        subscribers.0.forEach { $0.finish() }
        subscribers.1.forEach { $0.finish() }
    }

    /// Loads the latest stored version now. Returns whether a newer version became current.
    @discardableResult
    public func reload() async throws -> Bool {
        guard let workspaceID = try await resolveWorkspaceID() else { return false }
        guard let stored = try await repository.latest(workspace: workspaceID, logger: logger) else {
            let first = state.withLock { state -> Bool in
                defer { state.reportedMissing = true }
                return !state.reportedMissing
            }
            if first {
                logger.warning("no configuration applied yet for this workspace; waiting for `keel apply`",
                    metadata: ["workspace": "\(workspaceID)"])
            }
            return false
        }
        if let current = snapshot, current.version >= stored.version { return false }
        let parsed = try WorkspaceParser(destinationValidators: nil).parse(document: stored.document)
        let snapshot = WorkspaceSnapshot(version: stored.version, workspace: parsed.workspace, secrets: secrets)
        for problem in snapshot.unresolvedWriteKeys {
            logger.error("source write key cannot be resolved", metadata: ["problem": "\(problem)"])
        }
        return install(snapshot)
    }

    private func install(_ snapshot: WorkspaceSnapshot) -> Bool {
        let notify = state.withLock { state -> (waiters: [CheckedContinuation<WorkspaceSnapshot, any Error>], snapshots: [AsyncStream<WorkspaceSnapshot>.Continuation], workspaces: [AsyncStream<Workspace>.Continuation])? in
            if let current = state.snapshot, current.version >= snapshot.version { return nil }
            state.snapshot = snapshot
            let waiters = Array(state.firstLoadWaiters.values)
            state.firstLoadWaiters = [:]
            return (waiters, Array(state.snapshotSubscribers.values), Array(state.workspaceSubscribers.values))
        }
        guard let notify else { return false }
        logger.info("configuration loaded", metadata: [
            "workspace": "\(snapshot.workspace.id)", "version": "\(snapshot.version)",
        ])
        notify.waiters.forEach { $0.resume(returning: snapshot) }
        notify.snapshots.forEach { $0.yield(snapshot) }
        notify.workspaces.forEach { $0.yield(snapshot.workspace) }
        return true
    }

    private func resolveWorkspaceID() async throws -> String? {
        if let id = state.withLock({ $0.workspaceID }) { return id }
        let stored = try await repository.workspaces(logger: logger)
        let chosen: String?
        if stored.contains("default") {
            chosen = "default"
        } else if stored.count == 1 {
            chosen = stored[0]
        } else {
            if stored.count > 1 {
                logger.error("several workspaces are stored; set KEEL_WORKSPACE to choose one",
                    metadata: ["workspaces": "\(stored.joined(separator: ","))"])
            }
            chosen = nil
        }
        if let chosen { state.withLock { $0.workspaceID = chosen } }
        return chosen
    }

    private func reloadLogged(_ reason: String) async {
        do {
            try await reload()
        } catch is CancellationError {
        } catch let error as WorkspaceConfigError {
            logger.error("stored configuration is invalid; keeping the previous version",
                metadata: ["reason": "\(reason)", "problems": "\(error.issues.count)", "first": "\(error.issues.first?.description ?? "")"])
        } catch {
            if !Task.isCancelled {
                logger.warning("configuration reload failed", metadata: ["reason": "\(reason)", "error": "\(Self.safe(error))"])
            }
        }
    }

    private func migrateUntilDone() async {
        while !Task.isCancelled {
            do {
                try await repository.migrate(logger: logger)
                return
            } catch {
                logger.warning("cannot migrate keel_config yet", metadata: ["error": "\(Self.safe(error))"])
                try? await Task.sleep(for: configuration.retryDelay)
            }
        }
    }

    private func listenLoop() async {
        while !Task.isCancelled {
            do {
                try await repository.database.withConnection { connection in
                    try await connection.listen(on: ConfigRepository.channel) { notifications in
                        // LISTEN is active from here on: loading now cannot miss a version.
                        await self.reloadLogged("start")
                        for try await notification in notifications where self.concernsUs(notification.payload) {
                            await self.reloadLogged("notification")
                        }
                    }
                }
            } catch {
                if Task.isCancelled { return }
                logger.warning("configuration listener lost; reconnecting", metadata: ["error": "\(Self.safe(error))"])
            }
            try? await Task.sleep(for: configuration.retryDelay)
        }
    }

    private func recheckLoop() async {
        while !Task.isCancelled {
            try? await Task.sleep(for: configuration.recheckInterval)
            if Task.isCancelled { return }
            await reloadLogged("recheck")
        }
    }

    /// Payload `<workspace>:<version>`: ours and newer than what we have (or we have not chosen yet).
    private func concernsUs(_ payload: String) -> Bool {
        guard let colon = payload.lastIndex(of: ":"), let version = Int64(payload[payload.index(after: colon)...]) else {
            return true
        }
        let workspace = String(payload[..<colon])
        return state.withLock { state in
            if let chosen = state.workspaceID, chosen != workspace { return false }
            return (state.snapshot?.version ?? 0) < version
        }
    }

    /// A description without query text or bound values.
    static func safe(_ error: any Error) -> String {
        if let psql = error as? PSQLError {
            return psql.serverInfo?[.message] ?? "\(psql.code)"
        }
        if let storage = error as? StorageError { return storage.description }
        return "\(type(of: error))"
    }
}

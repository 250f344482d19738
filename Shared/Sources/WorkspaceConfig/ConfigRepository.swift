import EventModel
import Foundation
import Logging
import PostgresNIO
import Storage

/// One stored version of a workspace document.
public struct StoredWorkspace: Sendable, Equatable {
    /// Increases with every apply (shared sequence across workspaces).
    public var version: Int64
    public var workspace: String
    /// The document as applied (`${ENV}` unresolved).
    public var document: JSON
    /// SHA-256 (hex) of the document's normalised JSON: equal documents have equal checksums.
    public var checksum: String
    public var appliedAt: Date
}

/// Versions of workspace documents in Postgres (schema `keel_config`), and the notification that
/// tells running services to reload.
public struct ConfigRepository: Sendable {
    /// The Postgres schema this module owns.
    public static let schema = "keel_config"
    /// `NOTIFY` channel; the payload is `<workspace>:<version>`.
    public static let channel = "keel_config"

    public static let migrations = [
        Migration(
            version: 1, name: "workspace versions",
            sql: """
                CREATE TABLE workspace_versions (
                    version bigserial PRIMARY KEY,
                    workspace text NOT NULL,
                    document text NOT NULL,
                    checksum text NOT NULL,
                    applied_at timestamptz NOT NULL DEFAULT now()
                );
                CREATE INDEX workspace_versions_latest ON workspace_versions (workspace, version DESC);
                """)
    ]

    /// What ``apply(_:logger:)`` did.
    public enum ApplyResult: Sendable, Equatable {
        /// A new version was stored and announced.
        case applied(version: Int64)
        /// The latest stored version already has this content; nothing was written.
        case unchanged(version: Int64)
    }

    public let database: Database

    public init(database: Database) {
        self.database = database
    }

    /// Creates or updates the `keel_config` schema. Safe to call from every replica at start.
    public func migrate(logger: Logger) async throws {
        try await database.migrate(schema: Self.schema, migrations: Self.migrations, logger: logger)
    }

    /// Stores `document` as the workspace's new version and notifies listeners, in one transaction;
    /// does nothing when the latest version has the same checksum.
    public func apply(_ document: WorkspaceDocument, logger: Logger) async throws -> ApplyResult {
        let workspace = document.workspace.id
        let text = document.document.jsonString
        let lockKey = SQLIdentifier.advisoryLockKey("keel.config.apply:" + workspace)
        return try await database.withTransaction(logger: logger) { connection in
            // Serialise applies of one workspace so two concurrent identical applies store one version.
            try await connection.query("SELECT pg_advisory_xact_lock(\(lockKey))", logger: logger)
            var checksum = ""
            for try await value in try await connection.query(
                "SELECT encode(sha256(convert_to((\(text)::jsonb)::text, 'UTF8')), 'hex')", logger: logger
            ).decode(String.self) {
                checksum = value
            }
            let latest = try await connection.query(
                """
                SELECT version, checksum FROM keel_config.workspace_versions
                WHERE workspace = \(workspace) ORDER BY version DESC LIMIT 1
                """, logger: logger)
            for try await (version, latestChecksum) in latest.decode((Int64, String).self) where latestChecksum == checksum {
                return ApplyResult.unchanged(version: version)
            }
            var version: Int64 = 0
            for try await value in try await connection.query(
                """
                INSERT INTO keel_config.workspace_versions (workspace, document, checksum)
                VALUES (\(workspace), \(text), \(checksum)) RETURNING version
                """, logger: logger
            ).decode(Int64.self) {
                version = value
            }
            let payload = "\(workspace):\(version)"
            try await connection.query("SELECT pg_notify(\(Self.channel), \(payload))", logger: logger)
            return ApplyResult.applied(version: version)
        }
    }

    /// The newest version of `workspace`, or `nil` when none was applied.
    public func latest(workspace: String, logger: Logger) async throws -> StoredWorkspace? {
        let rows = try await database.client.query(
            """
            SELECT version, workspace, document, checksum, applied_at FROM keel_config.workspace_versions
            WHERE workspace = \(workspace) ORDER BY version DESC LIMIT 1
            """, logger: logger)
        for try await (version, workspace, text, checksum, appliedAt) in rows.decode(
            (Int64, String, String, String, Date).self)
        {
            let document: JSON
            do {
                document = try JSON(parsing: text)
            } catch {
                throw WorkspaceConfigError(issues: [
                    ConfigIssue(path: "document", message: "stored version \(version) of \(workspace) is not valid JSON")
                ])
            }
            return StoredWorkspace(
                version: version, workspace: workspace, document: document, checksum: checksum, appliedAt: appliedAt)
        }
        return nil
    }

    /// The ids of every workspace with at least one stored version, sorted.
    public func workspaces(logger: Logger) async throws -> [String] {
        let rows = try await database.client.query(
            "SELECT DISTINCT workspace FROM keel_config.workspace_versions ORDER BY workspace", logger: logger)
        var names: [String] = []
        for try await name in rows.decode(String.self) { names.append(name) }
        return names
    }
}

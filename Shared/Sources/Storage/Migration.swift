/// One step of a schema's history. Versions are applied in ascending order, each once, each in its
/// own transaction, with `search_path` set to the schema (so the SQL can use unqualified names).
///
/// `sql` may hold several statements separated by semicolons.
public struct Migration: Sendable, Hashable {
    /// Positive, unique within the schema. Never renumber a released migration.
    public var version: Int
    /// Short description, stored in `schema_migrations`.
    public var name: String
    /// The SQL to run.
    public var sql: String

    public init(version: Int, name: String, sql: String) {
        self.version = version
        self.name = name
        self.sql = sql
    }
}

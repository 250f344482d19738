import Storage

/// The Postgres schema the batch-router owns (docs/architecture.md, "Postgres schemas").
public enum BatchRouterSchema {
    /// Schema name.
    public static let name = "batch_router"

    /// Migrations, in version order. None yet: the batch-router's tables come with its features.
    public static let migrations: [Migration] = []
}

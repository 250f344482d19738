import Storage

/// The Postgres schema the warehouse-actions owns (docs/architecture.md, "Postgres schemas").
public enum WarehouseActionsSchema {
    /// Schema name.
    public static let name = "warehouse_actions"

    /// Migrations, in version order. None yet: the warehouse-actions's tables come with its features.
    public static let migrations: [Migration] = []
}

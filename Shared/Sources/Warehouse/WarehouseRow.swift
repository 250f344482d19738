/// One row for one warehouse table, keyed for merging.
public struct WarehouseRow: Sendable, Equatable {
    public var table: String
    /// The merge key: the messageId for event tables, the userId for `users`.
    public var id: String
    /// Column name → value; columns without a value are absent (NULL).
    public var columns: [String: WarehouseValue]

    public init(table: String, id: String, columns: [String: WarehouseValue]) {
        self.table = table
        self.id = id
        self.columns = columns
    }
}

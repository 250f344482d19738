/// The columns a table has in the warehouse.
public struct TableSchema: Sendable, Equatable {
    public var columns: [String: ColumnType]

    public init(columns: [String: ColumnType] = [:]) {
        self.columns = columns
    }
}

/// A value kept out of its table because it does not fit the column's type; stored in
/// `keel_discards` so nothing is silently lost.
public struct Discard: Sendable, Equatable {
    public var table: String
    public var column: String
    public var rowId: String
    public var value: String
    public var columnType: ColumnType
    public var reason: String
}

/// What one load does: the columns to add, the rows per table (merged per id), and the values
/// that go to `keel_discards`.
public struct LoadPlan: Sendable {
    /// Table → columns to add, in a stable order. A table absent from the existing schema is
    /// created with these columns.
    public var newColumns: [String: [(name: String, type: ColumnType)]]
    /// Table → rows, one per id (the last event of the batch wins; for `users`, columns merge).
    public var rows: [String: [WarehouseRow]]
    public var discards: [Discard]
    /// Table → its full schema after the load.
    public var schemas: [String: TableSchema]

    /// Plans the load of `rows` into tables whose current schemas are `existing`.
    ///
    /// A new column takes the type of its first value in the batch (an int and a double together
    /// make a double column). A value that does not fit its column is removed from the row and
    /// recorded as a discard.
    public init(rows input: [WarehouseRow], existing: [String: TableSchema]) {
        var schemas = existing
        var added: [String: [(name: String, type: ColumnType)]] = [:]
        var byTable: [String: [String: Int]] = [:]  // table → id → index in rows
        var rows: [String: [WarehouseRow]] = [:]
        var discards: [Discard] = []

        // Infer new columns first, so that int-then-double in one batch gives a double column.
        var inferred: [String: [String: ColumnType]] = [:]
        for row in input {
            let known = schemas[row.table]?.columns ?? [:]
            for (column, value) in row.columns where known[column] == nil {
                let type = value.inferredType
                switch inferred[row.table]?[column] {
                case nil: inferred[row.table, default: [:]][column] = type
                case .bigint? where type == .double: inferred[row.table]![column] = .double
                default: break
                }
            }
        }
        for (table, columns) in inferred {
            var schema = schemas[table] ?? TableSchema()
            let ordered = columns.sorted { $0.key < $1.key }
            for (name, type) in ordered { schema.columns[name] = type }
            added[table] = ordered.map { (name: $0.key, type: $0.value) }
            schemas[table] = schema
        }

        for var row in input {
            let schema = schemas[row.table]!.columns
            for (column, value) in row.columns {
                guard let type = schema[column], !type.accepts(value) else { continue }
                row.columns[column] = nil
                discards.append(Discard(
                    table: row.table, column: column, rowId: row.id, value: value.description, columnType: type,
                    reason: "a \(value.inferredType.rawValue) value does not fit a \(type.rawValue) column"
                ))
            }
            if let index = byTable[row.table]?[row.id] {
                if row.table == "users" {
                    rows[row.table]![index].columns.merge(row.columns) { _, new in new }
                } else {
                    rows[row.table]![index] = row
                }
            } else {
                byTable[row.table, default: [:]][row.id] = rows[row.table, default: []].count
                rows[row.table, default: []].append(row)
            }
        }
        self.newColumns = added
        self.rows = rows
        self.discards = discards
        self.schemas = schemas
    }
}

extension LoadPlan {
    /// Plans of disjoint tables combined into one (loaders plan tables concurrently).
    public struct Merged: Sendable {
        public var newColumns: [String: [(name: String, type: ColumnType)]] = [:]
        public var rows: [String: [WarehouseRow]] = [:]
        public var discards: [Discard] = []
        /// Every table's schema after the load, including tables the plans did not touch.
        public var schemas: [String: TableSchema]

        public init(_ plans: [LoadPlan], existing: [String: TableSchema]) {
            schemas = existing
            for plan in plans {
                newColumns.merge(plan.newColumns) { _, new in new }
                rows.merge(plan.rows) { _, new in new }
                discards += plan.discards
                schemas.merge(plan.schemas) { _, new in new }
            }
        }
    }
}

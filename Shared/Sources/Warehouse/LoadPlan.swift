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

    /// Table → the columns at least one of its rows carries (the columns a COPY of its rows
    /// names), sorted.
    public var presentColumns: [String: [String]]

    /// Plans the load of `rows` into tables whose current schemas are `existing`.
    ///
    /// A new column takes the type of its first value in the batch (an int and a double together
    /// make a double column). A value that does not fit its column is removed from the row and
    /// recorded as a discard.
    public init(rows input: [WarehouseRow], existing: [String: TableSchema]) {
        var byTable: [String: [WarehouseRow]] = [:]
        var order: [String] = []
        if let table = input.first?.table, input.allSatisfy({ $0.table == table }) {
            byTable[table] = input
            order = [table]
        } else {
            for row in input {
                if byTable[row.table] == nil { order.append(row.table) }
                byTable[row.table, default: []].append(row)
            }
        }
        newColumns = [:]
        rows = [:]
        discards = []
        schemas = existing
        presentColumns = [:]
        for table in order {
            let plan = TablePlan(table: table, rows: byTable[table]!, existing: existing[table])
            newColumns[table] = plan.newColumns
            rows[table] = plan.rows
            discards += plan.discards
            schemas[table] = plan.schema
            presentColumns[table] = plan.present
        }
    }
}

/// The plan of one table: one pass over the rows infers new columns and notes the rows with a
/// value of another type than its column (only those are checked again), a second pass keeps one
/// row per id. Each column name is hashed about once per row.
struct TablePlan {
    var newColumns: [(name: String, type: ColumnType)] = []
    var rows: [WarehouseRow] = []
    var discards: [Discard] = []
    var schema: TableSchema
    var present: [String] = []

    init(table: String, rows input: [WarehouseRow], existing: TableSchema?) {
        struct Slot {
            var name: String
            var type: ColumnType
            var isNew: Bool
            var present: Bool
        }
        var index: [String: Int] = [:]
        var slots: [Slot] = []
        if let existing {
            index.reserveCapacity(existing.columns.count + 8)
            for (name, type) in existing.columns {
                index[name] = slots.count
                slots.append(Slot(name: name, type: type, isNew: false, present: false))
            }
        }
        var suspects: [Int] = []
        for (position, row) in input.enumerated() {
            var suspect = false
            for (column, value) in row.columns {
                let type = value.inferredType
                if let slot = index[column] {
                    slots[slot].present = true
                    let current = slots[slot].type
                    if current != type {
                        if slots[slot].isNew, current == .bigint, type == .double {
                            slots[slot].type = .double
                        } else {
                            suspect = true
                        }
                    }
                } else {
                    index[column] = slots.count
                    slots.append(Slot(name: column, type: type, isNew: true, present: true))
                }
            }
            if suspect { suspects.append(position) }
        }

        var checked = input
        for position in suspects {
            var row = checked[position]
            for (column, value) in row.columns {
                let type = slots[index[column]!].type
                guard !type.accepts(value) else { continue }
                row.columns[column] = nil
                discards.append(Discard(
                    table: table, column: column, rowId: row.id, value: value.description, columnType: type,
                    reason: "a \(value.inferredType.rawValue) value does not fit a \(type.rawValue) column"
                ))
            }
            checked[position] = row
        }

        var byId: [String: Int] = [:]
        byId.reserveCapacity(checked.count)
        rows.reserveCapacity(checked.count)
        let mergesColumns = table == "users"
        for row in checked {
            if let position = byId[row.id] {
                if mergesColumns {
                    rows[position].columns.merge(row.columns) { _, new in new }
                } else {
                    rows[position] = row
                }
            } else {
                byId[row.id] = rows.count
                rows.append(row)
            }
        }

        var columns = existing?.columns ?? [:]
        for slot in slots where slot.isNew {
            columns[slot.name] = slot.type
            newColumns.append((name: slot.name, type: slot.type))
        }
        newColumns.sort { $0.name < $1.name }
        schema = TableSchema(columns: columns)
        present = slots.filter(\.present).map(\.name).sorted()
    }
}

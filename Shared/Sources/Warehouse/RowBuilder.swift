import EventModel

/// Turns an event into the rows of the warehouse layout RudderStack and Segment users know:
/// `tracks` plus one table per event name, `pages`, `screens`, `identifies` plus `users`,
/// `groups`, `aliases`. Nested objects are flattened with `_`; arrays are kept as JSON text.
public struct RowBuilder: Sendable {
    public var naming: WarehouseNaming
    /// Objects nested deeper than this are stored as JSON text in one column.
    public var maxDepth: Int

    public init(naming: WarehouseNaming = WarehouseNaming(), maxDepth: Int = 10) {
        self.naming = naming
        self.maxDepth = maxDepth
    }

    /// Why an event yields no row.
    public struct Rejection: Error, Sendable, Equatable, CustomStringConvertible {
        public var reason: String
        public var description: String { reason }
    }

    /// The rows of one event. `loadedAt` (ms since epoch) fills `uuid_ts`, the load time column.
    public func rows(for event: JSON, loadedAt: Int64) throws(Rejection) -> [WarehouseRow] {
        try rows(for: event, loadedAt: loadedAt, names: ColumnNames())
    }

    /// ``rows(for:loadedAt:)`` with column names remembered across the events of one task.
    func rows(for event: JSON, loadedAt: Int64, names: ColumnNames) throws(Rejection) -> [WarehouseRow] {
        guard event.objectValue != nil else { throw Rejection(reason: "event is not an object") }
        guard let id = event["messageId"]?.stringValue, !id.isEmpty else { throw Rejection(reason: "event has no messageId") }
        let type = event["type"]?.stringValue?.lowercased() ?? ""
        var common = commonColumns(event, loadedAt: loadedAt, names: names)
        switch type {
        case "track":
            guard let name = event["event"]?.stringValue, !name.isEmpty else { throw Rejection(reason: "track event has no event name") }
            let table = naming.eventTable(name)
            common["event"] = .text(table)
            common["event_text"] = .text(name)
            var eventRow = common
            flatten(event["properties"], path: [], into: &eventRow, keepExisting: true, names: names)
            return [WarehouseRow(table: "tracks", id: id, columns: common), WarehouseRow(table: table, id: id, columns: eventRow)]
        case "page", "screen":
            if let name = event["name"]?.stringValue { common["name"] = .text(name) }
            flatten(event["properties"], path: [], into: &common, keepExisting: true, names: names)
            return [WarehouseRow(table: type == "page" ? "pages" : "screens", id: id, columns: common)]
        case "identify":
            var traits: [String: WarehouseValue] = [:]
            flatten(event[path: "context", "traits"], path: [], into: &traits, keepExisting: true, names: names)
            flatten(event["traits"], path: [], into: &traits, keepExisting: false, names: names)
            var identify = common
            for (column, value) in traits where identify[column] == nil { identify[column] = value }
            var rows = [WarehouseRow(table: "identifies", id: id, columns: identify)]
            if let userId = Self.text(event["userId"]), !userId.isEmpty {
                var user = traits
                user["id"] = .text(userId)
                user["received_at"] = common["received_at"]
                user["uuid_ts"] = common["uuid_ts"]
                rows.append(WarehouseRow(table: "users", id: userId, columns: user))
            }
            return rows
        case "group":
            if let groupId = Self.text(event["groupId"]) { common["group_id"] = .text(groupId) }
            flatten(event["traits"], path: [], into: &common, keepExisting: true, names: names)
            return [WarehouseRow(table: "groups", id: id, columns: common)]
        case "alias":
            if let previous = Self.text(event["previousId"]) { common["previous_id"] = .text(previous) }
            return [WarehouseRow(table: "aliases", id: id, columns: common)]
        default:
            throw Rejection(reason: "event type \(type.isEmpty ? "(none)" : type) has no warehouse table")
        }
    }

    /// Columns every event table has.
    func commonColumns(_ event: JSON, loadedAt: Int64, names: ColumnNames) -> [String: WarehouseValue] {
        var columns: [String: WarehouseValue] = [:]
        columns.reserveCapacity(48)
        columns["id"] = event["messageId"].flatMap { WarehouseValue($0) }
        if let value = Self.text(event["anonymousId"]) { columns["anonymous_id"] = .text(value) }
        if let value = Self.text(event["userId"]) { columns["user_id"] = .text(value) }
        for (field, column) in [
            ("receivedAt", "received_at"), ("sentAt", "sent_at"), ("timestamp", "timestamp"),
            ("originalTimestamp", "original_timestamp"),
        ] {
            if let text = event[field]?.stringValue, let time = Timestamp(parsing: text) {
                columns[column] = .timestamp(time.millisecondsSinceEpoch)
            }
        }
        if let channel = event["channel"]?.stringValue { columns["channel"] = .text(channel) }
        flatten(event["context"], path: ["context"], into: &columns, keepExisting: true, names: names)
        if let ip = event["request_ip"]?.stringValue, columns["context_request_ip"] == nil {
            columns["context_request_ip"] = .text(ip)
        }
        columns["uuid_ts"] = .timestamp(loadedAt)
        return columns
    }

    /// Flattens an object's leaves into `columns`. With `keepExisting`, a column already set
    /// (a common column such as `id`) is not overwritten by a property of the same name.
    func flatten(
        _ value: JSON?, path: [String], into columns: inout [String: WarehouseValue], keepExisting: Bool,
        names: ColumnNames
    ) {
        flatten(
            value, joinedPath: path.joined(separator: "_"), depth: path.count, into: &columns, keepExisting: keepExisting,
            names: names)
    }

    /// `joinedPath` is the path's parts joined with `_` (what ``WarehouseNaming/column(_:)`` names).
    private func flatten(
        _ value: JSON?, joinedPath: String, depth: Int, into columns: inout [String: WarehouseValue], keepExisting: Bool,
        names: ColumnNames
    ) {
        guard let value else { return }
        if case .object(let object) = value, depth < maxDepth {
            for (key, child) in object {
                let path = depth == 0 ? key : joinedPath + "_" + key
                flatten(child, joinedPath: path, depth: depth + 1, into: &columns, keepExisting: keepExisting, names: names)
            }
            return
        }
        guard depth > 0, let leaf = WarehouseValue(value) else { return }
        let column = names.column(joinedPath, naming: naming)
        if keepExisting, columns[column] != nil { return }
        columns[column] = leaf
    }

    /// Ids may be sent as numbers; warehouses keep them as text.
    static func text(_ value: JSON?) -> String? {
        switch value {
        case .string(let text)?: text
        case .int(let number)?: String(number)
        case .double(let number)?: String(number)
        default: nil
        }
    }
}

/// Column names already made from joined paths (``WarehouseNaming/identifier(_:)`` of
/// `context_page_url` and the like), for the events one task turns into rows: most events repeat
/// the same fields. At most `capacity` names are kept, so events with ever new keys cost no more
/// memory than that. Not for sharing between tasks.
final class ColumnNames {
    private var names: [String: String] = [:]
    private let capacity: Int

    init(capacity: Int = 4_096) {
        self.capacity = capacity
    }

    func column(_ joinedPath: String, naming: WarehouseNaming) -> String {
        if let name = names[joinedPath] { return name }
        let name = naming.identifier(joinedPath)
        if names.count < capacity { names[joinedPath] = name }
        return name
    }
}

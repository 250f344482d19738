/// Table and column names as warehouses expect them: snake_case, `[a-z0-9_]`, not starting with
/// a digit, not a reserved word, within the identifier length limit.
public struct WarehouseNaming: Sendable {
    /// Longest identifier: 63 for Postgres, 255 for Snowflake.
    public var maxLength: Int

    public init(maxLength: Int = 63) {
        self.maxLength = maxLength
    }

    /// Tables Keel writes itself; an event named like one of them gets a `_` prefix.
    public static let reservedTables: Set<String> = [
        "tracks", "pages", "screens", "identifies", "users", "aliases", "groups", "keel_discards",
    ]

    /// SQL keywords that cannot be bare identifiers in Postgres or Snowflake.
    static let reservedWords: Set<String> = [
        "all", "alter", "and", "any", "as", "asc", "between", "by", "case", "cast", "check", "column",
        "constraint", "create", "cross", "current", "current_date", "current_time", "current_timestamp",
        "current_user", "default", "delete", "desc", "distinct", "drop", "else", "end", "exists", "false",
        "for", "foreign", "from", "full", "grant", "group", "having", "in", "inner", "insert", "intersect",
        "into", "is", "join", "left", "like", "limit", "natural", "not", "null", "of", "offset", "on", "or",
        "order", "outer", "primary", "references", "right", "row", "rows", "select", "session_user", "set",
        "some", "table", "then", "to", "true", "union", "unique", "update", "user", "using", "values", "when",
        "where", "with", "window",
    ]

    /// `Order Completed` → `order_completed`, `firstName` → `first_name`, `$ref` → `ref`,
    /// `1st` → `_1st`, `select` → `_select`. Empty results become `_`.
    public func identifier(_ raw: String) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(raw.utf8.count + 4)
        var previous: UInt8 = 0  // 0 = start or separator, 1 = lower/digit, 2 = upper
        let bytes = Array(raw.utf8)
        for (index, byte) in bytes.enumerated() {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"):
                let nextIsLower = index + 1 < bytes.count && (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(bytes[index + 1])
                if previous == 1 || (previous == 2 && nextIsLower) { appendSeparator(&out) }
                out.append(byte + 32)
                previous = 2
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                out.append(byte)
                previous = 1
            default:
                appendSeparator(&out)
                previous = 0
            }
        }
        while out.last == UInt8(ascii: "_") { out.removeLast() }
        while out.first == UInt8(ascii: "_") { out.removeFirst() }
        var name = String(decoding: out, as: UTF8.self)
        if name.isEmpty { return "_" }
        if let first = name.utf8.first, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(first) { name = "_" + name }
        if Self.reservedWords.contains(name) { name = "_" + name }
        if name.utf8.count > maxLength { name = String(decoding: name.utf8.prefix(maxLength), as: UTF8.self) }
        return name
    }

    private func appendSeparator(_ out: inout [UInt8]) {
        if let last = out.last, last != UInt8(ascii: "_") { out.append(UInt8(ascii: "_")) }
    }

    /// The table of a track event: its snake_cased name, prefixed when it would collide with a
    /// table Keel writes itself.
    public func eventTable(_ eventName: String) -> String {
        let name = identifier(eventName)
        return Self.reservedTables.contains(name) ? "_" + name : name
    }

    /// A column for a nested path: the parts joined with `_` (`context.traits.email` →
    /// `context_traits_email`).
    public func column(_ path: [String]) -> String {
        identifier(path.joined(separator: "_"))
    }
}

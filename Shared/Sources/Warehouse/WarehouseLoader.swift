/// Loads rows into one warehouse: the seam between the batch-router (and the extractor) and a
/// warehouse type. Postgres implements it in `WarehousePostgres`; Snowflake plugs in the same way.
///
/// A loader is used by one destination at a time, one load after the other; it may cache the
/// warehouse's schema between loads. Every `load` is all or nothing, and loading the same rows
/// twice leaves the warehouse as after the first load (rows merge on `id`).
public protocol WarehouseLoader: Sendable {
    /// Loads `rows` (as `RowBuilder` makes them): creates and widens tables, merges rows on id,
    /// keeps values that do not fit in `keel_discards`. Throws ``WarehouseLoadError``.
    func load(_ rows: [WarehouseRow]) async throws(WarehouseLoadError) -> LoadSummary
}

/// What one load did.
public struct LoadSummary: Sendable, Equatable {
    /// One entry per table written, in name order.
    public struct Table: Sendable, Equatable {
        public var name: String
        /// Rows merged into the table (after merging rows of the same id within the load).
        public var rows: Int
        /// Columns added to the table by this load (a new table counts all of its columns).
        public var addedColumns: Int

        public init(name: String, rows: Int, addedColumns: Int) {
            self.name = name
            self.rows = rows
            self.addedColumns = addedColumns
        }
    }

    public var tables: [Table]
    /// Values written to `keel_discards`.
    public var discards: Int

    public init(tables: [Table], discards: Int) {
        self.tables = tables
        self.discards = discards
    }

    /// Rows merged over all tables.
    public var rows: Int { tables.reduce(0) { $0 + $1.rows } }
}

/// A failed load. The message is safe to log and store: it names the table or step and the
/// warehouse's error code, never credentials or row values.
public struct WarehouseLoadError: Error, Sendable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }
        public var description: String { name }

        /// The warehouse could not be reached or the connection broke: retry later.
        public static let unavailable = Code("unavailable")
        /// The warehouse refused the credentials.
        public static let authentication = Code("authentication")
        /// A statement failed (permissions, a column type changed by hand, a constraint).
        public static let statement = Code("statement")
        /// The destination's settings cannot work.
        public static let configuration = Code("configuration")
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    /// Every code but `.configuration` may pass on a later attempt (the batch-router retries
    /// with backoff either way; this tells operators what to expect).
    public var isRetryable: Bool { code != .configuration }

    public var description: String { "warehouse load \(code): \(message)" }
}

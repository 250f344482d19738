/// An error from the Storage module. Its description is safe to log: it never contains a password,
/// a bound value or a row.
public struct StorageError: Error, Sendable, CustomStringConvertible {
    /// What went wrong, for decisions in code (not for string matching).
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        fileprivate enum Base: String, Hashable, Sendable {
            case invalidURL
            case invalidMigrations
            case migrationFailed
            case unreachable
            case missingTestDatabase
        }

        fileprivate let base: Base

        /// The database URL could not be understood.
        public static let invalidURL = Code(base: .invalidURL)
        /// The list of migrations is inconsistent (duplicate or non-positive versions).
        public static let invalidMigrations = Code(base: .invalidMigrations)
        /// A migration's SQL failed; the migration was rolled back.
        public static let migrationFailed = Code(base: .migrationFailed)
        /// The server could not be reached in time.
        public static let unreachable = Code(base: .unreachable)
        /// A test needed `KEEL_TEST_DATABASE_URL` and `KEEL_REQUIRE_SERVICES=1` was set.
        public static let missingTestDatabase = Code(base: .missingTestDatabase)

        public var description: String { base.rawValue }
    }

    /// The kind of failure.
    public var code: Code
    /// A human-readable explanation that contains no secret.
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "StorageError(\(code)): \(message)" }
}

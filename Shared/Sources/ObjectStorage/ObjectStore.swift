/// Where batch destinations put files: an S3-compatible bucket or a local directory.
///
/// Keys are `/`-separated paths relative to the store's root (bucket or directory); a store
/// never interprets them beyond that.
public protocol ObjectStore: Sendable {
    /// Stores `body` under `key`, replacing any previous object. Returns once the object is durable.
    func put(key: String, body: [UInt8], contentType: String) async throws(ObjectStorageError)
    /// Reads the whole object at `key`; throws `.notFound` when it does not exist.
    func get(key: String) async throws(ObjectStorageError) -> [UInt8]
    /// Lists the keys that start with `prefix`, in lexicographic order.
    func list(prefix: String) async throws(ObjectStorageError) -> [String]
    /// A URL-like description of the object for logs and load jobs (`s3://bucket/key`, `file:///…`).
    func location(of key: String) -> String
}

/// An object storage failure. The description names the operation and key, never credentials.
public struct ObjectStorageError: Error, Sendable, CustomStringConvertible {
    /// What went wrong, as a stable code to branch on.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }
        public var description: String { name }

        /// The object or bucket does not exist.
        public static let notFound = Code("not found")
        /// The store refused the credentials or the signature.
        public static let accessDenied = Code("access denied")
        /// The store answered with an error that may pass (5xx, throttling, connection failure).
        public static let unavailable = Code("unavailable")
        /// The store answered with an error that will not pass by retrying (other 4xx).
        public static let rejected = Code("rejected")
        /// A local file system operation failed.
        public static let fileSystem = Code("file system")
        /// The configuration cannot work (bad endpoint, missing bucket).
        public static let configuration = Code("configuration")
    }

    public var code: Code
    /// A message safe to log: operation, key, HTTP status and the store's error code.
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    /// Whether trying the same operation later may succeed.
    public var isRetryable: Bool { code == .unavailable }

    public var description: String { "object storage \(code): \(message)" }
}

/// Reads ``BatchRouterSettings`` from the environment (docs/batch-router.md).
extension BatchRouterSettings {
    /// A variable that is set but not a positive number.
    public struct InvalidSetting: Error, CustomStringConvertible {
        public var variable: String
        public var description: String { "\(variable) must be a positive integer" }
    }

    public init(environment: [String: String]) throws(InvalidSetting) {
        self.init()
        func int(_ name: String) throws(InvalidSetting) -> Int? {
            guard let text = environment[name], !text.isEmpty else { return nil }
            guard let value = Int(text), value > 0 else { throw InvalidSetting(variable: name) }
            return value
        }
        if let value = try int("KEEL_BATCH_MAX_ROWS") { maxRowsPerFlush = value }
        if let value = try int("KEEL_BATCH_MAX_BYTES") { maxBytesPerFlush = value }
        if let value = try int("KEEL_BATCH_RETRY_SECONDS") { retryDelay = .seconds(value) }
        if let text = environment["KEEL_BATCH_GZIP_LEVEL"], !text.isEmpty {
            guard let level = Int32(text), (0...9).contains(level) else {
                throw InvalidSetting(variable: "KEEL_BATCH_GZIP_LEVEL")
            }
            gzipLevel = level
        }
    }
}

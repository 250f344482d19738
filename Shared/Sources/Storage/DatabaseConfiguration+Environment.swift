extension DatabaseConfiguration {
    /// Reads `KEEL_DATABASE_URL` (default ``DatabaseConfiguration/defaultURL``).
    public init(environment: [String: String]) throws {
        let url = environment["KEEL_DATABASE_URL"].flatMap { $0.isEmpty ? nil : $0 } ?? Self.defaultURL
        try self.init(url: url)
    }
}

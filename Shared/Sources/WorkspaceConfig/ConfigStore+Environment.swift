extension ConfigStore.Configuration {
    /// Reads `KEEL_WORKSPACE` (unset or empty: see ``ConfigStore/Configuration/workspace``).
    public init(environment: [String: String]) {
        let workspace = environment["KEEL_WORKSPACE"].flatMap { $0.isEmpty ? nil : $0 }
        self.init(workspace: workspace)
    }
}

extension ConfigStore {
    /// How a ``ConfigStore`` finds and follows its workspace.
    public struct Configuration: Sendable {
        /// The workspace to serve. `nil` (the default) means: `default` when such a workspace is stored,
        /// else the only stored workspace.
        public var workspace: String?
        /// How often to re-read the latest version even without a notification (one can be missed
        /// while the listening connection reconnects). Default 30 s.
        public var recheckInterval: Duration
        /// Pause before re-establishing a lost LISTEN connection or retrying a failed migration. Default 1 s.
        public var retryDelay: Duration

        public init(workspace: String? = nil, recheckInterval: Duration = .seconds(30), retryDelay: Duration = .seconds(1)) {
            self.workspace = workspace
            self.recheckInterval = recheckInterval
            self.retryDelay = retryDelay
        }
    }
}

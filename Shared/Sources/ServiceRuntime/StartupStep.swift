public import ServiceLifecycle

/// A one-time piece of work a process does after its dependencies have started and before it is
/// ready, such as migrating its Postgres schema. A `Service`: place it in the `ServiceGroup` after
/// what it uses (the database client must be running for a migration to proceed).
///
/// `run()` performs the work once, then stays until graceful shutdown so the group does not read
/// its return as the end of the process. When the work throws, `run()` throws and the process
/// shuts down: a process that cannot migrate must not serve. Register ``isComplete`` as a
/// readiness check.
public actor StartupStep: Service, CustomStringConvertible {
    /// Names the step in logs and readiness answers.
    public nonisolated let name: String
    private let work: @Sendable () async throws -> Void
    private var completed = false

    public init(_ name: String, work: @escaping @Sendable () async throws -> Void) {
        self.name = name
        self.work = work
    }

    /// Whether the work has finished successfully.
    public var isComplete: Bool { self.completed }

    /// A readiness check that passes once the work has finished.
    public nonisolated var readinessCheck: ReadinessCheck {
        ReadinessCheck(self.name) { await self.isComplete }
    }

    public func run() async throws {
        try await self.work()
        self.completed = true
        // Nothing more to do; stay until shutdown. Cancellation also ends the wait.
        try? await gracefulShutdown()
    }

    public nonisolated var description: String { "StartupStep(\(self.name))" }
}

/// Runs consecutive batches through two ordered stages after their preparation, so that batch
/// n+1 is parsed, looked up and mapped while batch n is produced and recorded:
///
/// - **produce**: batch n+1 starts only after batch n's produce finished (so messages keep their
///   order per key, and a failed produce is retried before anything after it is sent);
/// - **commit** (mark ids, record errors, store offsets): batch n+1 only after its own produce and
///   batch n's commit (so offsets are stored in order, each behind its batch's acknowledgements).
///
/// At most `depth` batches are submitted and not yet committed: ``submit(_:)`` waits for the
/// oldest to commit before taking another. A failed stage fails every later batch without
/// running its stages, and the failure is thrown from ``submit(_:)`` or ``finish()``.
public struct BatchPipeline<Batch: Sendable> {
    private struct Stages {
        let produced: Task<Void, any Error>
        let committed: Task<Void, any Error>
    }

    public let depth: Int
    private let produce: @Sendable (Batch) async throws -> Void
    private let commit: @Sendable (Batch) async throws -> Void
    private var pending: [Stages] = []

    public init(
        depth: Int, produce: @escaping @Sendable (Batch) async throws -> Void,
        commit: @escaping @Sendable (Batch) async throws -> Void
    ) {
        precondition(depth >= 1)
        self.depth = depth
        self.produce = produce
        self.commit = commit
    }

    /// How many batches are submitted and not yet known to be committed.
    public var inFlight: Int { pending.count }

    /// Starts `batch`'s stages behind the previous batch's; first waits while `depth` batches
    /// are in flight. Throws the failure of an earlier batch.
    public mutating func submit(_ batch: Batch) async throws {
        while pending.count >= depth {
            try await pending.removeFirst().committed.value
        }
        let previous = pending.last
        let produce = self.produce
        let commit = self.commit
        let produced = Task {
            try await previous?.produced.value
            try await produce(batch)
        }
        let committed = Task {
            try await produced.value
            try await previous?.committed.value
            try await commit(batch)
        }
        pending.append(Stages(produced: produced, committed: committed))
    }

    /// Waits until every submitted batch is committed; throws the first failure.
    public mutating func finish() async throws {
        while !pending.isEmpty {
            try await pending.removeFirst().committed.value
        }
    }

    /// Cancels the batches in flight and waits for them to end (their failures are dropped: the
    /// caller is already failing). Their offsets may or may not have been stored.
    public mutating func cancel() async {
        for stages in pending {
            stages.produced.cancel()
            stages.committed.cancel()
        }
        for stages in pending { _ = await stages.committed.result }
        pending.removeAll()
    }
}

import Synchronization

/// The dedup keys of batches that passed their dedup lookup but whose marks are not yet in
/// `processor.dedup` (their output is being produced, or their marks written).
///
/// With batches pipelined (``BatchPipeline``), batch n+1 is looked up before batch n's marks are
/// committed, so a lookup alone would miss a duplicate of an event of batch n. A batch therefore
/// *claims* its keys before its lookup: a key already claimed by an earlier batch is a duplicate.
/// Keys are released only after their marks are committed (or, for keys found in
/// `processor.dedup`, right after the lookup), so every duplicate is caught either here or by the
/// lookup that follows the claim.
///
/// Dropping a duplicate of an in-flight event is safe because batches complete in order and a
/// failed batch stops the processor: a later batch's offsets are stored only after the earlier
/// batch's output was acknowledged and its marks written.
public final class InFlightMessageIds: Sendable {
    private let keys = Mutex<Set<DedupStore.Key>>([])

    public init() {}

    /// Claims `keys` (distinct). Returns the keys that were already claimed: duplicates of an
    /// event in flight, which the caller must drop (they stay claimed by their first batch).
    public func claim(_ keys: [DedupStore.Key]) -> Set<DedupStore.Key> {
        self.keys.withLock { claimed in
            var duplicates = Set<DedupStore.Key>()
            for key in keys where !claimed.insert(key).inserted { duplicates.insert(key) }
            return duplicates
        }
    }

    /// Releases keys this batch claimed: after its marks are committed, or when the lookup found
    /// them marked already.
    public func release<Keys: Sequence<DedupStore.Key>>(_ keys: Keys) {
        self.keys.withLock { claimed in
            for key in keys { claimed.remove(key) }
        }
    }

    /// How many keys are claimed.
    public var count: Int { keys.withLock { $0.count } }
}

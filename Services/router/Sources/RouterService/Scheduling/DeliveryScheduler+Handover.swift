/// Taking over parked rows written by an earlier owner of a partition (the same router before a
/// restart, or another replica before a rebalance).
///
/// That owner parked a key's later jobs and stored their offsets, but the offsets of the key's
/// earlier jobs, still in its memory, were not stored: the committed offset stops before them. The
/// new owner reads those earlier jobs again, and then the parked ones again too. So for each seeded
/// key with rows parked from Kafka (first and last offset on their partition):
///
/// - a job of the key read before `first` is **ahead** of the rows: it goes to memory and is
///   delivered before them (never parked behind them);
/// - a job read between `first` and `last` **is** one of the rows: it is dropped (its offset done),
///   and the row is delivered instead;
/// - a job read after `last` is new, and parks behind the rows as usual.
///
/// The rows are loaded only once the partition has been read up to `first` (every earlier job of
/// the key is then in memory), unless the committed offset is already past `first`. The hold
/// ends when the partition is read past `last`.
extension DeliveryScheduler {
    /// What a job read from Kafka is, relative to its key's parked rows.
    enum HoldPlace {
        case ahead, parked, after
    }

    struct ParkedHold: Sendable {
        var offsets: ParkedOffsets
        /// Loads wait until the partition is read at `offsets.first`.
        var loadsHeld: Bool

        func place(_ partition: PartitionRef, _ offset: Int64) -> HoldPlace {
            guard partition == offsets.partition else { return .after }
            if offset < offsets.first { return .ahead }
            return offset <= offsets.last ? .parked : .after
        }
    }

    /// A partition's held keys, by first and by last offset, and how far reading has released them.
    struct PartitionHolds: Sendable {
        var byFirst: [(offset: Int64, key: DeliveryKey)] = []
        var byLast: [(offset: Int64, key: DeliveryKey)] = []
        var firstReleased = 0
        var lastReleased = 0
        var sorted = true
    }

    /// Parked rows found when partitions were assigned. `committed` is the group's committed offset
    /// of each partition (where reading starts; absent: from the beginning).
    public mutating func seedParked(
        _ counts: [ParkedKeyCount], committed: [PartitionRef: Int64], policy: (DeliveryKey) -> DeliveryPolicy
    ) -> [Action] {
        var actions: [Action] = []
        for count in counts where count.count > 0 {
            if let offsets = count.parkedOffsets, acceptedPartitions?.contains(offsets.partition) ?? true {
                let start = committed[offsets.partition] ?? -1
                if start <= offsets.last {
                    keys[count.key, default: KeyState()].hold = ParkedHold(offsets: offsets, loadsHeld: start < offsets.first)
                    holds[offsets.partition, default: PartitionHolds()].add(count.key, offsets)
                }
            }
            actions += addExternalParked(count.key, count: count.count, policy: policy(count.key))
        }
        return actions
    }

    /// The partition was read at `offset`: keys whose rows start at or before it may load them, and
    /// holds that end before it are over.
    mutating func releaseHolds(_ partition: PartitionRef, readAt offset: Int64, into actions: inout [Action]) {
        guard var partitionHolds = holds.removeValue(forKey: partition) else { return }
        partitionHolds.sortIfNeeded()
        while partitionHolds.firstReleased < partitionHolds.byFirst.count, partitionHolds.byFirst[partitionHolds.firstReleased].offset <= offset {
            let key = partitionHolds.byFirst[partitionHolds.firstReleased].key
            partitionHolds.firstReleased += 1
            guard keys[key]?.hold?.offsets.partition == partition else { continue }
            keys[key]!.hold!.loadsHeld = false
            requestLoadIfNeeded(key, into: &actions)
        }
        while partitionHolds.lastReleased < partitionHolds.byLast.count, partitionHolds.byLast[partitionHolds.lastReleased].offset < offset {
            let key = partitionHolds.byLast[partitionHolds.lastReleased].key
            partitionHolds.lastReleased += 1
            guard var keyState = keys.removeValue(forKey: key) else { continue }
            if keyState.hold?.offsets.partition == partition { keyState.hold = nil }
            if !keyState.isRemovable { keys[key] = keyState }
        }
        if partitionHolds.lastReleased < partitionHolds.byLast.count { holds[partition] = partitionHolds }
    }

    /// The partition was revoked: its holds end (the next owner takes the rows over).
    mutating func dropHolds(_ partition: PartitionRef) {
        guard let partitionHolds = holds.removeValue(forKey: partition) else { return }
        for (_, key) in partitionHolds.byLast where keys[key]?.hold?.offsets.partition == partition {
            keys[key]!.hold = nil
        }
    }

    /// Keys with a hold: copies of their parked rows may still be read (for tests).
    var heldKeys: Int { keys.values.reduce(0) { $0 + ($1.hold == nil ? 0 : 1) } }

    /// Keys whose parked rows wait to be loaded until their partition is read up to them (a gauge:
    /// it falls to 0 once the partitions are caught up). O(keys): call it seldom.
    public var keysAwaitingHandover: Int { keys.values.reduce(0) { $0 + ($1.hold?.loadsHeld == true ? 1 : 0) } }
}

extension DeliveryScheduler.PartitionHolds {
    mutating func add(_ key: DeliveryKey, _ offsets: ParkedOffsets) {
        byFirst.append((offsets.first, key))
        byLast.append((offsets.last, key))
        sorted = false
    }

    mutating func sortIfNeeded() {
        guard !sorted else { return }
        // Only entries not yet released are reordered; released ones stay before the cursor.
        byFirst[firstReleased...].sort { $0.offset < $1.offset }
        byLast[lastReleased...].sort { $0.offset < $1.offset }
        sorted = true
    }
}

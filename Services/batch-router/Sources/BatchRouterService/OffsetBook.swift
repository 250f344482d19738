import KafkaTransport

/// Which consumed offsets are durable, per partition, and so which offset may be committed.
///
/// Every message read from `keel.batch` is either durable at once (nothing to wait for: a row
/// for a destination that no longer exists, an unreadable message) or pending until the flush that
/// carries it succeeds. Flushes of different destinations finish in any order, so the commit
/// position of a partition is its *lowest pending offset*: everything below it is durable.
/// With nothing pending it is the highest consumed offset + 1.
///
/// Pure value type: no Kafka calls, unit-tested on its own.
public struct OffsetBook: Sendable {
    struct Partition: Sendable {
        /// Offsets waiting for a flush, ascending (messages of a partition arrive in order);
        /// entries before `head` are settled.
        var pending: [Int64] = []
        var head = 0
        /// Settled offsets not yet reached by `head`.
        var settled: Set<Int64> = []
        /// First offset consumed under the current assignment; older settlements are ignored.
        var base: Int64
        var highestConsumed: Int64
        /// The position last handed out by ``OffsetBook/takeAdvanced()``.
        var stored: Int64

        init(first offset: Int64) {
            base = offset
            highestConsumed = offset - 1
            stored = offset
        }

        var position: Int64 { head < pending.count ? pending[head] : highestConsumed + 1 }

        mutating func advance() {
            while head < pending.count, settled.remove(pending[head]) != nil { head += 1 }
            if head > 1024, head * 2 > pending.count {
                pending.removeFirst(head)
                head = 0
            }
        }
    }

    private var partitions: [TopicPartition: Partition] = [:]

    public init() {}

    /// Records a consumed message. `durable`: nothing to wait for before committing past it.
    public mutating func consumed(_ partition: TopicPartition, offset: Int64, durable: Bool) {
        var entry = partitions[partition] ?? Partition(first: offset)
        guard offset > entry.highestConsumed else { return }  // a redelivery of what we already track
        entry.highestConsumed = offset
        if !durable { entry.pending.append(offset) }
        partitions[partition] = entry
    }

    /// Records that a flush made these offsets durable.
    public mutating func settled(_ offsets: [TopicPartition: [Int64]]) {
        for (partition, list) in offsets {
            guard var entry = partitions[partition] else { continue }  // revoked since
            for offset in list where offset >= entry.base && offset <= entry.highestConsumed {
                entry.settled.insert(offset)
            }
            entry.advance()
            partitions[partition] = entry
        }
    }

    /// The offset a restart would resume `partition` at: all below it is durable.
    public func position(_ partition: TopicPartition) -> Int64? { partitions[partition]?.position }

    /// Partitions whose position moved since the last call, with the new position (the offset to
    /// commit: the next one to read).
    public mutating func takeAdvanced() -> [TopicPartition: Int64] {
        var advanced: [TopicPartition: Int64] = [:]
        for (partition, var entry) in partitions where entry.position > entry.stored {
            entry.stored = entry.position
            advanced[partition] = entry.stored
            partitions[partition] = entry
        }
        return advanced
    }

    /// Forgets partitions given up in a rebalance; their next owner reads from the committed offset.
    public mutating func revoke(_ revoked: some Sequence<TopicPartition>) {
        for partition in revoked { partitions[partition] = nil }
    }

    /// Offsets consumed but not yet durable, over all partitions.
    public var pendingCount: Int {
        partitions.values.reduce(0) { $0 + $1.pending.count - $1.head - $1.settled.count }
    }
}

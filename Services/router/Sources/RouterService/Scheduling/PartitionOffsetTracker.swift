/// Which offset of one partition may be stored: the one after the longest prefix of consumed
/// offsets that are all done (delivered, finally failed and recorded, or parked in Postgres).
///
/// Offsets are tracked in the order they were consumed (ascending; gaps are allowed, as with
/// compaction or transaction markers). Memory is proportional to the undone window only.
struct PartitionOffsetTracker {
    private var offsets: [Int64] = []
    private var done: [Bool] = []
    private var head = 0
    /// The offset to store (the next one to consume after a restart); `nil` until something is done.
    private(set) var storable: Int64?

    /// Offsets consumed and not yet released by the contiguous done prefix.
    var pendingCount: Int { offsets.count - head }

    /// Records a consumed offset. Offsets must arrive in ascending order; a repeat or a smaller
    /// offset (a rewind after a rebalance) is ignored and answered `false`.
    @discardableResult
    mutating func track(_ offset: Int64) -> Bool {
        if let last = offsets.last, head < offsets.count, offset <= last { return false }
        if let storable, offset < storable { return false }
        offsets.append(offset)
        done.append(false)
        return true
    }

    /// Marks `offset` done; returns whether the storable offset moved.
    @discardableResult
    mutating func markDone(_ offset: Int64) -> Bool {
        guard let index = index(of: offset) else { return false }
        done[index] = true
        guard index == head else { return false }
        while head < offsets.count && done[head] {
            storable = offsets[head] + 1
            head += 1
        }
        if head == offsets.count {
            offsets.removeAll(keepingCapacity: true)
            done.removeAll(keepingCapacity: true)
            head = 0
        } else if head >= 4096 && head * 2 >= offsets.count {
            offsets.removeFirst(head)
            done.removeFirst(head)
            head = 0
        }
        return true
    }

    private func index(of offset: Int64) -> Int? {
        var low = head
        var high = offsets.count
        while low < high {
            let mid = (low + high) / 2
            if offsets[mid] < offset { low = mid + 1 } else { high = mid }
        }
        return low < offsets.count && offsets[low] == offset ? low : nil
    }
}

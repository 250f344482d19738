/// A binary min-heap of deadlines with a payload. Stale entries are allowed: the owner checks on
/// pop whether an entry still means something, which keeps cancellation O(1).
struct TimerHeap<Payload> {
    private(set) var entries: [(deadline: ContinuousClock.Instant, payload: Payload)] = []

    var isEmpty: Bool { entries.isEmpty }
    var count: Int { entries.count }
    var earliest: ContinuousClock.Instant? { entries.first?.deadline }

    mutating func push(_ deadline: ContinuousClock.Instant, _ payload: Payload) {
        entries.append((deadline, payload))
        var child = entries.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard entries[child].deadline < entries[parent].deadline else { break }
            entries.swapAt(child, parent)
            child = parent
        }
    }

    /// Removes and returns the earliest entry if it is due at `now`.
    mutating func popDue(now: ContinuousClock.Instant) -> Payload? {
        guard let first = entries.first, first.deadline <= now else { return nil }
        let last = entries.removeLast()
        if !entries.isEmpty {
            entries[0] = last
            var parent = 0
            while true {
                let left = 2 * parent + 1
                let right = left + 1
                var smallest = parent
                if left < entries.count && entries[left].deadline < entries[smallest].deadline { smallest = left }
                if right < entries.count && entries[right].deadline < entries[smallest].deadline { smallest = right }
                if smallest == parent { break }
                entries.swapAt(parent, smallest)
                parent = smallest
            }
        }
        return first.payload
    }
}
extension TimerHeap: Sendable where Payload: Sendable {}

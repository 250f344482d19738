import EventModel

extension RowBuilder {
    /// The rows of a batch of events, and why the others yielded none.
    public struct BatchRows: Sendable {
        /// In event order (a later event's row for the same id wins in the load plan).
        public var rows: [WarehouseRow] = []
        /// Rejection reason → number of events.
        public var rejected: [String: Int] = [:]

        public init() {}
    }

    /// Events per task below which a batch is built on one task.
    static let minimumShard = 2_000

    /// Builds the rows of `events` on up to `concurrency` tasks, keeping event order. Row building
    /// costs about as much client CPU as the load itself, and nothing else runs while a flush
    /// builds its rows, so the cores share it.
    public func rows(for events: [JSON], loadedAt: Int64, concurrency: Int) async -> BatchRows {
        let shards = max(1, min(concurrency, events.count / Self.minimumShard))
        guard shards > 1 else { return rows(for: events[...], loadedAt: loadedAt) }
        let size = (events.count + shards - 1) / shards
        let parts = await withTaskGroup(of: (Int, BatchRows).self) { group in
            for shard in 0..<shards {
                let slice = events[(shard * size)..<min(events.count, (shard + 1) * size)]
                group.addTask { (shard, self.rows(for: slice, loadedAt: loadedAt)) }
            }
            var parts = [BatchRows](repeating: BatchRows(), count: shards)
            for await (shard, part) in group { parts[shard] = part }
            return parts
        }
        var all = BatchRows()
        all.rows.reserveCapacity(parts.reduce(0) { $0 + $1.rows.count })
        for part in parts {
            all.rows.append(contentsOf: part.rows)
            all.rejected.merge(part.rejected, uniquingKeysWith: +)
        }
        return all
    }

    private func rows(for events: ArraySlice<JSON>, loadedAt: Int64) -> BatchRows {
        var built = BatchRows()
        built.rows.reserveCapacity(events.count * 2)
        let names = ColumnNames()
        for event in events {
            do throws(Rejection) {
                built.rows.append(contentsOf: try rows(for: event, loadedAt: loadedAt, names: names))
            } catch {
                built.rejected[error.reason, default: 0] += 1
            }
        }
        return built
    }
}

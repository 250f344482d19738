import EventModel
import Foundation
import KafkaTransport
import Logging
import ObjectStorage
import Warehouse

/// Where a destination's flush goes: files in object storage or rows in a warehouse.
protocol BatchSink: Sendable {
    /// Makes `job`'s rows durable; throws when nothing (or not all) was made durable.
    func flush(_ job: FlushJob) async throws -> FlushOutcome
}

/// What a flush wrote, for history and metrics.
struct FlushOutcome: Sendable {
    /// One per file written (object storage).
    struct File: Sendable {
        var sourceId: String
        /// The `keel.batch` partition its rows came from.
        var partition: TopicPartition
        var key: String
        var location: String
        var rows: Int
        /// Compressed size.
        var bytes: Int
    }

    var files: [File] = []
    /// The warehouse load (warehouses).
    var load: LoadSummary?
    /// Events that make no warehouse row (no messageId, unknown type), with the reason.
    var rejected: [String: Int] = [:]
    var location: String = ""
}

/// gzip NDJSON files, one per source and `keel.batch` partition per flush, keyed
/// `<prefix>/<sourceId>/<yyyy-mm-dd>/<epoch>.<uuid>.json.gz`.
///
/// The key depends only on the file's first row: the uuid derives from the destination, source,
/// partition and offset of that row, the day and epoch seconds from its event's `receivedAt`.
/// A retried flush, or the same rows read again after a crash between the upload and the offset
/// store, therefore starts with the same row and overwrites the same object instead of adding a
/// second copy (docs/batch-router.md, "Object storage files").
public struct ObjectStorageSink: BatchSink {
    let store: any ObjectStore
    let prefix: String
    let gzipLevel: Int32

    public init(store: any ObjectStore, prefix: String, gzipLevel: Int32) {
        self.store = store
        self.prefix = prefix
        self.gzipLevel = gzipLevel
    }

    /// Writes the job's files; returns (files, compressed bytes). For benchmarks and tools.
    public func write(_ job: FlushJob) async throws -> (files: Int, bytes: Int) {
        let outcome = try await flush(job)
        return (outcome.files.count, outcome.files.reduce(0) { $0 + $1.bytes })
    }

    struct FileGroup: Hashable {
        var sourceId: String
        var partition: TopicPartition
    }

    func flush(_ job: FlushJob) async throws -> FlushOutcome {
        var groups: [FileGroup: [Int]] = [:]
        var order: [FileGroup] = []
        for (index, row) in job.rows.enumerated() {
            let group = FileGroup(sourceId: row.sourceId, partition: row.partition)
            if groups[group] == nil { order.append(group) }
            groups[group, default: []].append(index)
        }
        var outcome = FlushOutcome()
        for group in order {
            let indices = groups[group]!
            let gzip = try GzipWriter(level: gzipLevel)
            var line: [UInt8] = []
            line.reserveCapacity(2048)
            for index in indices {
                line.removeAll(keepingCapacity: true)
                job.rows[index].event.serialize(into: &line)
                line.append(UInt8(ascii: "\n"))
                try gzip.write(line)
            }
            let body = try gzip.finish()
            let key = Self.key(prefix: prefix, destinationId: job.destinationId, first: job.rows[indices[0]], fallbackTime: job.createdAt)
            try await store.put(key: key, body: body, contentType: "application/gzip")
            outcome.files.append(.init(
                sourceId: group.sourceId, partition: group.partition, key: key, location: store.location(of: key),
                rows: indices.count, bytes: body.count))
        }
        return outcome
    }

    /// The key of the file whose first row is `first`. Its time is the event's `receivedAt`
    /// (set by the gateway on every event); `fallbackTime` only for an event without one.
    static func key(prefix: String, destinationId: String, first: PendingRow, fallbackTime: Date) -> String {
        let milliseconds = first.event["receivedAt"]?.stringValue.flatMap { Timestamp(parsing: $0) }?.millisecondsSinceEpoch
            ?? Int64((fallbackTime.timeIntervalSince1970 * 1000).rounded(.down))
        let seconds = milliseconds >= 0 ? milliseconds / 1000 : (milliseconds - 999) / 1000
        let day = Timestamp(millisecondsSinceEpoch: seconds * 1000).rfc3339.prefix(10)
        let identity = "\(destinationId)/\(first.sourceId)/\(first.partition.topic)/\(first.partition.partition)/\(first.offset)"
        let name = "\(seconds).\(stableUUID(identity)).json.gz"
        let parts = (prefix.isEmpty ? [] : [prefix]) + [first.sourceId, String(day), name]
        return parts.joined(separator: "/")
    }

    /// A version-4-shaped UUID from two FNV-1a hashes of `text`: random-looking, stable per input.
    static func stableUUID(_ text: String) -> String {
        func fnv(_ seed: UInt64) -> UInt64 {
            var hash = seed
            for byte in text.utf8 {
                hash ^= UInt64(byte)
                hash = hash &* 0x0000_0100_0000_01b3
            }
            return hash
        }
        var high = fnv(0xcbf2_9ce4_8422_2325)
        var low = fnv(0x8422_2325_cbf2_9ce4)
        high = (high & 0xffff_ffff_ffff_0fff) | 0x4000
        low = (low & 0x3fff_ffff_ffff_ffff) | 0x8000_0000_0000_0000
        let hex = String(format: "%016llx%016llx", high, low)
        let chars = Array(hex)
        return "\(String(chars[0..<8]))-\(String(chars[8..<12]))-\(String(chars[12..<16]))-\(String(chars[16..<20]))-\(String(chars[20..<32]))"
    }
}

/// Rows in a warehouse through a ``WarehouseLoader``: each event becomes its `RowBuilder` rows.
struct WarehouseSink: BatchSink {
    let loader: any WarehouseLoader
    let builder: RowBuilder
    let location: String

    func flush(_ job: FlushJob) async throws -> FlushOutcome {
        let loadedAt = Int64((Date().timeIntervalSince1970 * 1000).rounded())
        let built = await builder.rows(
            for: job.rows.map(\.event), loadedAt: loadedAt, concurrency: ProcessInfo.processInfo.activeProcessorCount)
        var outcome = FlushOutcome()
        outcome.location = location
        outcome.rejected = built.rejected
        outcome.load = try await loader.load(built.rows)
        return outcome
    }
}

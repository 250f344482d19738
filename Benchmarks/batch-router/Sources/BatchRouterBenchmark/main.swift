// batch-router-bench: rows per second loaded into a Postgres warehouse, and bytes per second
// written to object storage (a local directory and, when given, an S3 endpoint such as moto).
//
//   swift build -c release --product batch-router-bench
//   .build/release/batch-router-bench --database-url postgres://keel@127.0.0.1:15433/keel \
//       [--events 200000] [--batch 50000] [--s3-endpoint http://127.0.0.1:15500]
//
// The database URL is an admin URL: the benchmark creates a throwaway database and drops it.
import AsyncHTTPClient
import BatchRouterService
import EventModel
import Foundation
import KafkaTransport
import Logging
import ObjectStorage
import PostgresNIO
import Storage
import Warehouse
import WarehousePostgres

func option(_ name: String) -> String? {
    let arguments = CommandLine.arguments
    guard let index = arguments.firstIndex(of: name), index + 1 < arguments.count else { return nil }
    return arguments[index + 1]
}

let events = Int(option("--events") ?? "") ?? 200_000
let batchSize = Int(option("--batch") ?? "") ?? 50_000
let databaseURL = option("--database-url") ?? ProcessInfo.processInfo.environment["KEEL_TEST_DATABASE_URL"]
let s3Endpoint = option("--s3-endpoint")
var logger = Logger(label: "keel.batch-router.bench")
logger.logLevel = .error

/// A realistic track event: context, 10 properties of mixed types, one nested object.
func event(_ index: Int) -> JSON {
    let receivedAt = Timestamp(millisecondsSinceEpoch: 1_796_000_000_000 + Int64(index)).rfc3339
    return [
        "type": "track", "event": index % 10 == 0 ? "Product Viewed" : "Order Completed",
        "messageId": .string("bench-\(index)"), "userId": .string("user-\(index % 5000)"),
        "anonymousId": .string("anon-\(index % 7000)"), "receivedAt": .string(receivedAt), "sentAt": .string(receivedAt),
        "timestamp": .string(receivedAt), "originalTimestamp": .string(receivedAt), "channel": "web",
        "context": [
            "library": ["name": "analytics.js", "version": "2.11.1"], "ip": "203.0.113.9",
            "page": ["path": "/checkout", "url": "https://shop.example.com/checkout", "title": "Checkout"],
            "userAgent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36",
        ],
        "properties": [
            "order_id": .string("o-\(index)"), "revenue": .double(Double(index % 1000) + 0.99), "quantity": .int(Int64(index % 7)),
            "currency": "EUR", "coupon": index % 3 == 0 ? "XMAS" : .null, "shipping": 4.5, "tax": 1.2, "member": .bool(index % 2 == 0),
            "category": "Kitchen", "cart": ["items": .int(Int64(index % 9)), "value": .double(Double(index % 500))],
        ],
    ]
}

/// CPU seconds (user + system) this process has used.
func clientCPUSeconds() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
}

/// CPU seconds of a local Postgres's finished backends (the postmaster's reaped children), read
/// from /proc; nil when the server is not local or /proc is unreadable. The loader opens one
/// connection per load, so its backends have finished when a phase ends.
func serverCPUSeconds(postmaster: Int32?) -> Double? {
    guard let postmaster, let stat = try? String(contentsOfFile: "/proc/\(postmaster)/stat", encoding: .utf8),
        let close = stat.lastIndex(of: ")")
    else { return nil }
    let fields = stat[stat.index(after: close)...].split(separator: " ")
    // After the name: state(0) ppid(1) ... utime(11) stime(12) cutime(13) cstime(14).
    guard fields.count > 14, let cutime = Double(fields[13]), let cstime = Double(fields[14]) else { return nil }
    return (cutime + cstime) / Double(sysconf(Int32(_SC_CLK_TCK)))
}

/// The postmaster of the server behind `configuration`, when it runs on this machine.
func postmasterPID(_ configuration: DatabaseConfiguration) async -> Int32? {
    guard let backend = try? await Database.withDatabase(configuration: configuration, logger: logger, { server -> Int32 in
        let rows = try await server.client.query("SELECT pg_backend_pid()", logger: logger)
        for try await pid in rows.decode(Int32.self) { return pid }
        return 0
    }), let stat = try? String(contentsOfFile: "/proc/\(backend)/stat", encoding: .utf8), let close = stat.lastIndex(of: ")")
    else { return nil }
    let fields = stat[stat.index(after: close)...].split(separator: " ")
    return fields.count > 1 ? Int32(fields[1]) : nil
}

func seconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
}

let generated = (0..<events).map(event)
let partition = TopicPartition(topic: "keel.batch", partition: 0)
let pending = generated.enumerated().map { index, event in
    PendingRow(partition: partition, offset: Int64(index), sourceId: "web", event: event, size: 1000)
}
print("batch-router-bench: \(events) events, batches of \(batchSize)")

// MARK: Postgres warehouse

if let databaseURL {
    let admin = try DatabaseConfiguration(url: databaseURL)
    let name = "keel_batch_bench_\(UInt32.random(in: 0...UInt32.max))"
    _ = try await Database.withDatabase(configuration: admin, logger: logger) { server in
        try await server.client.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \(name)"), logger: logger)
        if CommandLine.arguments.contains("--log-statements") {  // durations in the server's log
            try await server.client.query(
                PostgresQuery(unsafeSQL: "ALTER DATABASE \(name) SET log_min_duration_statement = 20"), logger: logger)
        }
    }
    let loader = PostgresWarehouseLoader(
        configuration: .init(server: admin.withDatabase(name), schema: "bench"), logger: logger)
    let builder = RowBuilder()

    // Rows built up front, so the load figure is the loader's alone.
    let buildStart = ContinuousClock.now
    var batches: [[WarehouseRow]] = []
    for start in stride(from: 0, to: events, by: batchSize) {
        let batch = Array(generated[start..<min(start + batchSize, events)])
        batches.append(await builder.rows(
            for: batch, loadedAt: 1_796_000_000_000, concurrency: ProcessInfo.processInfo.activeProcessorCount
        ).rows)
    }
    let buildTime = seconds(ContinuousClock.now - buildStart)
    let totalRows = batches.reduce(0) { $0 + $1.count }

    // The load plan alone (client side: new columns, discards, merging per id).
    let planStart = ContinuousClock.now
    for batch in batches { _ = LoadPlan(rows: batch, existing: [:]) }
    let planTime = seconds(ContinuousClock.now - planStart)

    let postmaster = await postmasterPID(admin)
    let (clientBefore, serverBefore) = (clientCPUSeconds(), serverCPUSeconds(postmaster: postmaster))
    let loadStart = ContinuousClock.now
    var loaded = 0
    for batch in batches { loaded += try await loader.load(batch).rows }
    let loadTime = seconds(ContinuousClock.now - loadStart)
    let (clientAfter, serverAfter) = (clientCPUSeconds(), serverCPUSeconds(postmaster: postmaster))

    // A replay of the first batch (merge on id, nothing added).
    let replayStart = ContinuousClock.now
    _ = try await loader.load(batches[0])
    let replayTime = seconds(ContinuousClock.now - replayStart)

    print(String(format: "postgres  row building   %9d rows in %6.2f s  %9.0f rows/s", totalRows, buildTime, Double(totalRows) / buildTime))
    print(String(format: "postgres  load plan only  %9d rows in %6.2f s  %9.0f rows/s", totalRows, planTime, Double(totalRows) / planTime))
    print(String(format: "postgres  load (COPY+merge) %6d rows in %6.2f s  %9.0f rows/s  (%.0f events/s)", loaded, loadTime, Double(loaded) / loadTime, Double(events) / loadTime))
    let clientCPU = clientAfter - clientBefore
    print(String(format: "postgres  load CPU: client %.2f s (%.1f µs/row)", clientCPU, clientCPU / Double(loaded) * 1e6)
        + (serverBefore.flatMap { before in serverAfter.map { after in
            String(format: ", server %.2f s (%.1f µs/row)", after - before, (after - before) / Double(loaded) * 1e6)
        } } ?? ", server not local"))
    print(String(format: "postgres  replay of one batch %5d rows in %6.2f s  %9.0f rows/s", batches[0].count, replayTime, Double(batches[0].count) / replayTime))
    print(String(format: "postgres  build + load     %9d rows in %6.2f s  %9.0f rows/s", totalRows, buildTime + loadTime, Double(totalRows) / (buildTime + loadTime)))

    _ = try await Database.withDatabase(configuration: admin, logger: logger) { server in
        _ = try await server.client.query(PostgresQuery(unsafeSQL: "DROP DATABASE IF EXISTS \(name) WITH (FORCE)"), logger: logger)
    }
} else {
    print("postgres  skipped (no --database-url or KEEL_TEST_DATABASE_URL)")
}

// MARK: Object storage

func objectStorage(_ label: String, _ store: any ObjectStore, level: Int32) async throws {
    let sink = ObjectStorageSink(store: store, prefix: "bench", gzipLevel: level)
    var input = 0
    for row in pending { input += row.event.serialized().count + 1 }
    let start = ContinuousClock.now
    var files = 0
    var written = 0
    for (index, first) in stride(from: 0, to: events, by: batchSize).enumerated() {
        let job = FlushJob(
            id: "bench-\(index)", destinationId: "bench", rows: Array(pending[first..<min(first + batchSize, events)]),
            createdAt: Date())
        let result = try await sink.write(job)
        files += result.files
        written += result.bytes
    }
    let time = seconds(ContinuousClock.now - start)
    print(String(format: "%@ gzip %d: %d files, %.1f MB NDJSON -> %.1f MB in %.2f s: %.1f MB/s in, %.1f MB/s out, %.0f rows/s",
        label, level, files, Double(input) / 1e6, Double(written) / 1e6, time, Double(input) / 1e6 / time, Double(written) / 1e6 / time,
        Double(events) / time))
}

let directory = FileManager.default.temporaryDirectory.appendingPathComponent("keel-batch-bench-\(UUID().uuidString)").path
for level: Int32 in [1, 6] {
    try await objectStorage("local dir ", LocalDirectoryStore(root: directory), level: level)
}
try? FileManager.default.removeItem(atPath: directory)

if let s3Endpoint {
    let bucket = "keel-bench-\(UInt32.random(in: 0...UInt32.max))"
    let s3 = try S3Client(
        configuration: S3Configuration(bucket: bucket, endpoint: s3Endpoint, accessKeyId: "bench", secretAccessKey: "bench"),
        httpClient: .shared)
    try await s3.createBucket()
    for level: Int32 in [1, 6] { try await objectStorage("s3 (moto)  ", s3, level: level) }
} else {
    print("s3        skipped (no --s3-endpoint)")
}

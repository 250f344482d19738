// Processor throughput: input events per second with three destinations connected (webhook,
// customerio, ga4) and no transformation. Two measurements:
//
// 1. pipeline: parse IngestRecords, correct timestamps, route, map, serialise delivery jobs,
//    in-process, no I/O (the CPU cost per event);
// 2. end to end: records preloaded on `keel.ingest` of an in-process librdkafka mock cluster; the
//    processor built by `buildProcessor` (as `main` builds it) on a real Postgres (dedup lookups
//    and marks included) consumes them and produces the delivery jobs; timed from start until
//    every messageId is marked in `processor.dedup`.
//
// Usage: processor-bench [EVENTS] (default 200000); KEEL_BENCH_PIPELINE_ROUNDS, KEEL_BENCH_DEDUP_MARKS (earlier
// marks to start with), KEEL_PROCESSOR_BATCH_SIZE,
// KEEL_PROCESSOR_PIPELINE_DEPTH and KEEL_PROCESSOR_MAPPING_CONCURRENCY are read as `processor` reads them. Needs KEEL_BENCH_DATABASE_URL (an admin URL
// where it may CREATE DATABASE). Run via Benchmarks/processor/run, in release, with no build running.
import Destinations
import EventModel
import Foundation
import KafkaTransport
import Logging
import Metrics
import MetricsTestKit
import PostgresNIO
import ProcessorService
import ServiceLifecycle
import Storage
import WorkspaceConfig

let count = CommandLine.arguments.count > 1 ? Int(CommandLine.arguments[1]) ?? 200_000 : 200_000
var logger = Logger(label: "keel.processor.bench")
// KEEL_LOG_LEVEL=trace prints each batch's step durations to stderr.
logger.logLevel = ProcessInfo.processInfo.environment["KEEL_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .error

let workspaceYAML = """
    workspace: bench
    sources:
      - id: web
        writeKey: wk
    destinations:
      - id: hook
        name: Hook
        type: webhook
        config: {url: "https://hooks.example.com/in", headers: {X-Token: "t"}}
      - id: cio
        name: CIO
        type: customerio
        config: {siteId: "site", apiKey: "key"}
      - id: ga
        name: GA
        type: ga4
        config: {measurementId: "G-BENCH", apiSecret: "secret"}
    connections:
      - source: web
        destinations: [hook, cio, ga]
    """

/// ~700-byte events, like the gateway benchmark's.
let padding = String(repeating: "x", count: 300)
func record(_ index: Int) -> [UInt8] {
    let names = ["Product Viewed", "Order Completed", "Signed Up", "Button Clicked"]
    let event = """
        {"type":"track","messageId":"bench-\(index)","anonymousId":"anon-\(index % 997)","userId":"user-\(index % 997)",\
        "event":"\(names[index % names.count])","properties":{"product_id":"sku-\(index % 50)","name":"Mug","price":19.99,\
        "currency":"EUR","order_id":"o-\(index)","revenue":19.99,"products":[{"product_id":"sku-1","name":"Mug","price":19.99}],\
        "note":"\(padding)"},"context":{"library":{"name":"bench","version":"1.0"},"page":{"url":"https://shop.example.com/p"},\
        "traits":{"plan":"pro"}},"originalTimestamp":"2026-11-29T12:00:00.000Z","sentAt":"2026-11-29T12:00:01.000Z",\
        "receivedAt":"2026-11-29T12:00:01.500Z","request_ip":"10.0.0.1"}
        """
    var buffer: [UInt8] = []
    IngestRecord.serializePrefix(workspaceId: "bench", sourceId: "web", into: &buffer)
    buffer += Array(event.utf8)
    buffer += IngestRecord.suffix
    return buffer
}

func cpuSeconds() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
}

/// Prints events/s and the process CPU (user + sys) per event: on a shared machine the second is
/// the steadier figure.
func report(_ name: String, events: Int, seconds: Double, cpu: Double, extra: String = "") {
    print(String(format: "%@: %d events in %.2f s = %.0f events/s, %.1f µs CPU/event (CPU %.0f%% of one core)%@",
        name, events, seconds, Double(events) / seconds, cpu / Double(max(events, 1)) * 1e6, cpu / seconds * 100, extra))
}

let records = (0..<count).map(record)
let workspace = try WorkspaceParser().parse(yaml: workspaceYAML).workspace

// 1. Pipeline only; KEEL_BENCH_PIPELINE_ROUNDS (default 1) repeats it, for profiles.
let rounds = ProcessInfo.processInfo.environment["KEEL_BENCH_PIPELINE_ROUNDS"].flatMap { Int($0) } ?? 1
for _ in 0..<rounds {
    let routing = RoutingTable(
        snapshot: WorkspaceSnapshot(version: 1, workspace: workspace), registry: .standard,
        secrets: SecretResolver(environment: [:]))
    let pipeline = EventPipeline(topics: Topics(), transformer: UnavailableUserTransformer())
    let cpu0 = cpuSeconds()
    let start = ContinuousClock.now
    var jobs = 0, bytes = 0
    for chunk in stride(from: 0, to: count, by: 2000) {
        var inputs: [InputEvent] = []
        for raw in records[chunk..<min(chunk + 2000, count)] {
            // As BatchProcessor parses: the event's text is kept for bodies that are the event unchanged.
            let (parsed, text) = try IngestRecord.parsingKeepingEventText(raw)
            var input = InputEvent(
                workspaceId: parsed.workspaceId, sourceId: parsed.sourceId,
                messageId: parsed.event["messageId"]?.stringValue ?? "", messageType: parsed.event.messageType!,
                event: parsed.event, eventText: text)
            TimestampCorrection.apply(to: &input)
            inputs.append(input)
        }
        var output = PipelineOutput()
        await pipeline.run(inputs, routing: routing, into: &output)
        jobs += output.messages.count
        bytes += output.messages.reduce(0) { $0 + $1.value.count }
    }
    let seconds = (ContinuousClock.now - start) / .seconds(1)
    report("pipeline (parse + stages + serialise, no I/O)", events: count, seconds: seconds, cpu: cpuSeconds() - cpu0,
        extra: String(format: ", %d jobs, %.0f B/job", jobs, Double(bytes) / Double(max(jobs, 1))))
}

// 2. End to end.
guard let adminURL = ProcessInfo.processInfo.environment["KEEL_BENCH_DATABASE_URL"] else {
    print("end to end: skipped (set KEEL_BENCH_DATABASE_URL)")
    exit(0)
}
let admin = try DatabaseConfiguration(url: adminURL)
let databaseName = "keel_bench_\(UInt32.random(in: 0...UInt32.max))"
try await Database.withDatabase(configuration: admin, logger: logger) { server in
    try await server.client.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \(SQLIdentifier.quoted(databaseName))"), logger: logger)
}
let database = Database(configuration: admin.withDatabase(databaseName), logger: logger)
let databaseTask = Task { await database.client.run() }
let repository = ConfigRepository(database: database)
try await repository.migrate(logger: logger)
_ = try await repository.apply(try WorkspaceParser().parse(yaml: workspaceYAML), logger: logger)
try await database.migrate(schema: ProcessorSchema.name, migrations: ProcessorSchema.migrations, logger: logger)
// KEEL_BENCH_DEDUP_MARKS=N: start with N marks of earlier events in the window (one hour old,
// random ids spread over the partitions), as a processor has after hours of traffic.
if let marks = ProcessInfo.processInfo.environment["KEEL_BENCH_DEDUP_MARKS"].flatMap({ Int($0) }), marks > 0 {
    try await database.client.query(
        """
        INSERT INTO processor.dedup SELECT i % 6, gen_random_uuid(), now() - interval '1 hour'
        FROM generate_series(1, \(marks)) AS i
        """, logger: logger)
    try await database.client.query("VACUUM ANALYZE processor.dedup", logger: logger)
    print("end to end: \(marks) earlier marks in processor.dedup")
}

let cluster = try MockKafkaCluster(brokers: 1, logger: logger)
let topics = Topics()
try cluster.createTopic(topics.ingest, partitions: 6)
for topic in DestinationRegistry.standard.topics(topics) where topic != topics.ingest { try cluster.createTopic(topic, partitions: 6) }
var producerConfiguration = KafkaProducer.Configuration(bootstrapServers: cluster.bootstrapServers)
producerConfiguration.linger = .milliseconds(5)
let loader = try KafkaProducer(configuration: producerConfiguration, logger: logger)
let loaderTask = Task { try await loader.run() }
for chunk in stride(from: 0, to: count, by: 10_000) {
    try await loader.send(records[chunk..<min(chunk + 10_000, count)].enumerated().map { offset, value in
        OutgoingMessage(topic: topics.ingest, key: Array("bench:anon-\((chunk + offset) % 997)".utf8), value: value)
    })
}

// KEEL_PROCESSOR_BATCH_SIZE, _PIPELINE_DEPTH, _MAPPING_CONCURRENCY as for `processor`.
let configuration = try ProcessorConfiguration(
    topicPrefix: topics.prefix, kafkaBrokers: cluster.bootstrapServers, environment: ProcessInfo.processInfo.environment)
print("end to end: batch \(configuration.maxBatchSize), pipeline depth \(configuration.pipelineDepth), mapping tasks \(configuration.mappingConcurrency)")
let benchMetrics = TestMetrics()
MetricsSystem.bootstrap(benchMetrics)
let configStore = ConfigStore(database: database, configuration: .init(workspace: "bench"), logger: logger)
let parts = try buildProcessor(
    configuration: configuration, database: database, configStore: configStore, secrets: SecretResolver(environment: [:]),
    tuneConsumer: { $0.sessionTimeout = .seconds(6); $0.heartbeatInterval = .milliseconds(500); $0.bufferedBatches = 2 },
    // KEEL_BENCH_PRODUCER_COMPRESSION (none, lz4, zstd …) overrides the producer's codec, to measure its CPU cost.
    tuneProducer: { if let codec = ProcessInfo.processInfo.environment["KEEL_BENCH_PRODUCER_COMPRESSION"] { $0.compression = codec } },
    logger: logger)
let group = ServiceGroup(services: parts.services, logger: logger)
let cpu0 = cpuSeconds()
let start = ContinuousClock.now
let running = Task { try await group.run() }
var marked = 0
// The first poll that saw marks: the steady rate is measured from there (start-up, group join
// and the first batch excluded). Progress is the processor's own count of committed events
// (`keel_processor_events_received_total`, counted when a batch's marks are committed): a
// `count(*)` of processor.dedup every 100 ms would cost Postgres a scan of the growing table.
var firstMarks: (marked: Int, at: ContinuousClock.Instant, cpu: Double)?
while marked < count {
    try await Task.sleep(for: .milliseconds(100))
    marked = Int(benchMetrics.counterTotal(label: "keel_processor_events_received_total"))
    if firstMarks == nil, marked > 0 { firstMarks = (marked, ContinuousClock.now, cpuSeconds()) }
    if ContinuousClock.now - start > .seconds(600) { print("end to end: timed out at \(marked)"); break }
}
let seconds = (ContinuousClock.now - start) / .seconds(1)
report("end to end (mock Kafka in-process + Postgres, dedup on)", events: marked, seconds: seconds, cpu: cpuSeconds() - cpu0,
    extra: String(format: ", %d delivery jobs", marked * 3))
if let firstMarks, marked > firstMarks.marked {
    report("end to end, steady (from the first marks)", events: marked - firstMarks.marked,
        seconds: (ContinuousClock.now - firstMarks.at) / .seconds(1), cpu: cpuSeconds() - firstMarks.cpu)
}
await group.triggerGracefulShutdown()
_ = try? await running.value
loaderTask.cancel()
databaseTask.cancel()
try await Database.withDatabase(configuration: admin, logger: logger) { server in
    try await server.client.query(
        PostgresQuery(unsafeSQL: "DROP DATABASE IF EXISTS \(SQLIdentifier.quoted(databaseName)) WITH (FORCE)"), logger: logger)
}

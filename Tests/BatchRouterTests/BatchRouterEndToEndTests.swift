import AsyncHTTPClient
import BatchRouterService
import EventModel
import Foundation
import KafkaTransport
import ObjectStorage
import PostgresNIO
import Storage
import StorageTesting
import Synchronization
import XCTest

/// The batch-router as `main` builds it: BatchRows on `keel.batch` of an in-process mock Kafka
/// cluster, the workspace in a real Postgres, files in moto's S3 and a local directory, rows in a
/// Postgres warehouse.
final class BatchRouterEndToEndTests: XCTestCase {
    func query<T: PostgresDecodable & Sendable>(_ database: Database, _ sql: String, as: T.Type = T.self) async throws -> [T] {
        let rows = try await database.client.query(PostgresQuery(unsafeSQL: sql), logger: TestSupport.logger)
        var values: [T] = []
        for try await value in rows.decode(T.self) { values.append(value) }
        return values
    }

    func testFilesAppearInS3AndALocalDirectoryWithTheirKeysAndEvents() async throws {
        let endpoint = try TestSupport.s3Endpoint()
        let testDatabase = try await TestDatabase.make(logger: TestSupport.logger)
        let bucket = "keel-batch-\(UInt32.random(in: 0...UInt32.max))"
        let s3 = try S3Client(
            configuration: S3Configuration(bucket: bucket, endpoint: endpoint, accessKeyId: "test", secretAccessKey: "moto-secret"),
            httpClient: .shared)
        try await s3.createBucket()
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("keel-batch-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }

        try await BatchTestKafka.apply(
            """
            workspace: acme
            sources:
              - id: web
                writeKey: wk-web
              - id: ios
                writeKey: wk-ios
            destinations:
              - id: lake
                name: Lake
                type: s3
                config:
                  bucket: \(bucket)
                  prefix: raw/events/
                  region: us-east-1
                  endpoint: \(endpoint)
                  accessKeyId: test
                  secretAccessKey: ${TEST_S3_SECRET}
                  pathStyle: true
                  uploadInterval: 1s
              - id: disk
                name: Disk
                type: local_storage
                config:
                  path: \(directory)
                  uploadInterval: 1s
            connections:
              - source: web
                destinations: [lake, disk]
              - source: ios
                destinations: [lake]
            """, to: testDatabase.database)
        let cluster = try BatchTestKafka.cluster()
        let (producer, producing) = try BatchTestKafka.producer(cluster)
        let router = try RunningBatchRouter(cluster: cluster, database: testDatabase)

        let web = (0..<40).map { TestSupport.track("web-\($0)", user: "u\($0 % 7)", properties: ["n": .int(Int64($0)), "note": "tab\there \"quoted\" ü"]) }
        let ios = (0..<15).map { TestSupport.track("ios-\($0)", user: "i\($0)", event: "App Opened") }
        try await producer.send(
            BatchTestKafka.messages(web, destination: "lake", type: "s3")
                + BatchTestKafka.messages(ios, source: "ios", destination: "lake", type: "s3")
                + BatchTestKafka.messages(web, destination: "disk", type: "local_storage"))

        let events = try await eventually("55 events in S3") { () -> [String: [JSON]]? in
            let keys = try await s3.list(prefix: "raw/events/")
            var byKey: [String: [JSON]] = [:]
            for key in keys { byKey[key] = try Self.events(in: try await s3.get(key: key)) }
            return byKey.values.reduce(0) { $0 + $1.count } >= 55 ? byKey : nil
        }
        let pattern = try NSRegularExpression(pattern: #"^raw/events/(web|ios)/\d{4}-\d{2}-\d{2}/\d{10}\.[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}\.json\.gz$"#)
        for key in events.keys {
            XCTAssertEqual(pattern.numberOfMatches(in: key, range: NSRange(key.startIndex..., in: key)), 1, key)
        }
        let webEvents = events.filter { $0.key.hasPrefix("raw/events/web/") }.values.flatMap { $0 }
        let iosEvents = events.filter { $0.key.hasPrefix("raw/events/ios/") }.values.flatMap { $0 }
        XCTAssertEqual(Set(webEvents.compactMap { $0["messageId"]?.stringValue }), Set(web.map { $0["messageId"]!.stringValue! }))
        XCTAssertEqual(Set(iosEvents.compactMap { $0["messageId"]?.stringValue }), Set(ios.map { $0["messageId"]!.stringValue! }))
        XCTAssertEqual(webEvents.count, 40, "each event once")
        let sent = Dictionary(uniqueKeysWithValues: web.map { ($0["messageId"]!.stringValue!, $0) })
        for event in webEvents { XCTAssertEqual(event, sent[event["messageId"]!.stringValue!], "events are stored as sent") }

        // The local directory got its own files for the web source.
        let disk = LocalDirectoryStore(root: directory)
        let diskEvents = try await eventually("40 events on disk") { () -> [JSON]? in
            var all: [JSON] = []
            for key in try await disk.list(prefix: "web/") { all += try Self.events(in: try await disk.get(key: key)) }
            return all.count >= 40 ? all : nil
        }
        XCTAssertEqual(Set(diskEvents.compactMap { $0["messageId"]?.stringValue }).count, 40)

        // The uploads are in the history, with keys, sizes and row counts.
        let history = try await eventually("upload history") { () -> [String]? in
            let rows = try await query(
                testDatabase.database,
                "SELECT destination_id || '|' || source_id || '|' || status || '|' || row_count || '|' || (bytes > 0) || '|' || object_key FROM batch_router.uploads ORDER BY 1",
                as: String.self)
            return rows.filter { $0.contains("|uploaded|") }.count >= events.count + 1 ? rows : nil
        }
        XCTAssertEqual(history.filter { $0.hasPrefix("lake|web|uploaded|") }.map { Int($0.split(separator: "|")[3])! }.reduce(0, +), 40)
        XCTAssertEqual(history.filter { $0.hasPrefix("lake|ios|uploaded|") }.map { Int($0.split(separator: "|")[3])! }.reduce(0, +), 15)
        for row in history where row.hasPrefix("lake|") {
            XCTAssertTrue(events.keys.contains(String(row.split(separator: "|")[5])), row)
        }
        let metrics = router.metricsText
        XCTAssertTrue(metrics.contains(#"keel_batch_files_uploaded_total{destination="lake"} \#(events.count)"#), metrics)
        XCTAssertTrue(metrics.contains(#"keel_batch_bytes_uploaded_total{destination="disk"}"#), metrics)
        XCTAssertTrue(metrics.contains(#"keel_batch_flush_duration_seconds_count{destination="lake",status="ok"}"#), metrics)

        await router.stop()
        producing.cancel()
        try await testDatabase.drop()
    }

    /// A batch-router stopped after its files were uploaded but before its offsets were stored
    /// reads the rows again after a restart and uploads them under the same keys (a file's key
    /// derives from its first row): every event is in the bucket exactly once.
    func testKilledBetweenUploadAndOffsetStoreLeavesEachEventInOneFile() async throws {
        let endpoint = try TestSupport.s3Endpoint()
        let testDatabase = try await TestDatabase.make(logger: TestSupport.logger)
        let bucket = "keel-batch-\(UInt32.random(in: 0...UInt32.max))"
        let s3 = try S3Client(
            configuration: S3Configuration(bucket: bucket, endpoint: endpoint, accessKeyId: "test", secretAccessKey: "moto-secret"),
            httpClient: .shared)
        try await s3.createBucket()
        try await BatchTestKafka.apply(
            """
            workspace: acme
            sources:
              - id: web
                writeKey: wk-web
            destinations:
              - id: lake
                name: Lake
                type: s3
                config:
                  bucket: \(bucket)
                  prefix: dumps
                  endpoint: \(endpoint)
                  accessKeyId: test
                  secretAccessKey: moto-secret
                  uploadInterval: 1s
            connections:
              - source: web
                destinations: [lake]
            """, to: testDatabase.database)
        let cluster = try BatchTestKafka.cluster()
        let (producer, producing) = try BatchTestKafka.producer(cluster)

        // First process: its first upload succeeds, then it dies before storing offsets.
        let uploaded = AsyncStream.makeStream(of: Void.self)
        let first = try RunningBatchRouter(cluster: cluster, database: testDatabase) { _ in
            uploaded.continuation.yield()
            throw CancellationError()
        }
        let batch1 = (0..<60).map { TestSupport.track("e-\($0)", user: "u\($0 % 9)") }
        try await producer.send(BatchTestKafka.messages(batch1, destination: "lake", type: "s3"))
        var waiter = uploaded.stream.makeAsyncIterator()
        _ = await waiter.next()
        await first.kill()
        let keysBefore = try await s3.list(prefix: "dumps/")
        XCTAssertFalse(keysBefore.isEmpty, "the first upload happened")

        // Second process: reads everything again (nothing was committed), plus new events.
        let second = try RunningBatchRouter(cluster: cluster, database: testDatabase)
        let batch2 = (60..<100).map { TestSupport.track("e-\($0)", user: "u\($0 % 9)") }
        try await producer.send(BatchTestKafka.messages(batch2, destination: "lake", type: "s3"))
        func lines() async throws -> [String] {
            var ids: [String] = []
            for key in try await s3.list(prefix: "dumps/") {
                ids += try Self.events(in: try await s3.get(key: key)).compactMap { $0["messageId"]?.stringValue }
            }
            return ids
        }
        _ = try await eventually(timeout: .seconds(60), "100 events in the bucket") { () -> Bool? in
            Set(try await lines()).count >= 100 ? true : nil
        }
        try await Task.sleep(for: .seconds(2))  // let any further upload finish
        let ids = try await lines()
        XCTAssertEqual(Set(ids).count, 100, "no event lost")
        XCTAssertEqual(ids.count, 100, "no event in two files")
        let keysAfter = Set(try await s3.list(prefix: "dumps/"))
        XCTAssertTrue(Set(keysBefore).isSubset(of: keysAfter), "the replayed rows overwrote the first process's files")

        await second.stop()
        producing.cancel()
        try await testDatabase.drop()
    }

    /// A batch-router stopped after its load committed but before its offsets were stored reads
    /// the rows again after a restart; the warehouse merge on id keeps each row once.
    func testKilledBetweenLoadAndOffsetStoreLosesAndDuplicatesNothing() async throws {
        let testDatabase = try await TestDatabase.make(logger: TestSupport.logger)
        let server = testDatabase.configuration
        try await BatchTestKafka.apply(
            """
            workspace: acme
            sources:
              - id: web
                writeKey: wk-web
            destinations:
              - id: wh
                name: Warehouse
                type: postgres
                config:
                  host: \(server.host)
                  port: \(server.port)
                  database: \(server.database)
                  user: \(server.username)
                  schema: wh
                  uploadInterval: 1s
            connections:
              - source: web
                destinations: [wh]
            """, to: testDatabase.database)
        let cluster = try BatchTestKafka.cluster()
        let (producer, producing) = try BatchTestKafka.producer(cluster)

        // First process: its first load commits, then it dies before storing offsets.
        let loaded = AsyncStream.makeStream(of: Void.self)
        let first = try RunningBatchRouter(cluster: cluster, database: testDatabase) { _ in
            loaded.continuation.yield()
            throw CancellationError()
        }
        let batch1 = (0..<60).map { TestSupport.track("e-\($0)", user: "u\($0 % 9)", properties: ["n": .int(Int64($0))]) }
        try await producer.send(BatchTestKafka.messages(batch1, destination: "wh", type: "postgres"))
        var waiter = loaded.stream.makeAsyncIterator()
        _ = await waiter.next()
        await first.kill()
        let afterFirst = try await query(testDatabase.database, "SELECT count(*)::int4 FROM wh.tracks", as: Int32.self)
        XCTAssertGreaterThan(afterFirst[0], 0, "the first load committed")

        // Second process: reads everything again (nothing was committed), plus new events.
        let second = try RunningBatchRouter(cluster: cluster, database: testDatabase)
        let batch2 = (60..<100).map { TestSupport.track("e-\($0)", user: "u\($0 % 9)", properties: ["n": .int(Int64($0))]) }
        try await producer.send(BatchTestKafka.messages(batch2, destination: "wh", type: "postgres"))
        _ = try await eventually(timeout: .seconds(60), "100 rows in wh.tracks") { () -> Bool? in
            let count = try? await query(testDatabase.database, "SELECT count(*)::int4 FROM wh.tracks", as: Int32.self)
            return (count?.first ?? 0) >= 100 ? true : nil
        }
        // Let any replayed load finish.
        try await Task.sleep(for: .seconds(2))
        let totals = try await query(
            testDatabase.database,
            "SELECT count(*)::int4 || '/' || count(DISTINCT id)::int4 || '/' || sum(n)::int4 FROM wh.order_completed",
            as: String.self)
        XCTAssertEqual(totals, ["100/100/\((0..<100).reduce(0, +))"], "every row once")
        let tracks = try await query(testDatabase.database, "SELECT count(*)::int4 FROM wh.tracks", as: Int32.self)
        XCTAssertEqual(tracks, [100])
        let loads = try await query(
            testDatabase.database, "SELECT count(*)::int4 FROM batch_router.uploads WHERE status = 'loaded'", as: Int32.self)
        XCTAssertGreaterThanOrEqual(loads[0], 2, "the load before the crash and at least one after")
        let tables = try await query(
            testDatabase.database, "SELECT DISTINCT table_name FROM batch_router.load_jobs ORDER BY 1", as: String.self)
        XCTAssertEqual(tables, ["order_completed", "tracks"])
        XCTAssertTrue(second.metricsText.contains(#"keel_batch_rows_loaded_total{destination="wh"}"#), second.metricsText)

        await second.stop()
        producing.cancel()
        try await testDatabase.drop()
    }

    /// A warehouse that cannot be reached fails and retries with backoff, recorded in the history,
    /// while another destination's files keep appearing.
    func testAFailingWarehouseRetriesWithoutHoldingUpOtherDestinations() async throws {
        let testDatabase = try await TestDatabase.make(logger: TestSupport.logger)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("keel-batch-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try await BatchTestKafka.apply(
            """
            workspace: acme
            sources:
              - id: web
                writeKey: wk-web
            destinations:
              - id: down
                name: Down
                type: postgres
                config:
                  host: 127.0.0.1
                  port: 1
                  database: nowhere
                  user: keel
                  password: ${TEST_S3_SECRET}
                  uploadInterval: 1s
              - id: disk
                name: Disk
                type: local_storage
                config:
                  path: \(directory)
                  uploadInterval: 1s
            connections:
              - source: web
                destinations: [down, disk]
            """, to: testDatabase.database)
        let cluster = try BatchTestKafka.cluster()
        let (producer, producing) = try BatchTestKafka.producer(cluster)
        let router = try RunningBatchRouter(cluster: cluster, database: testDatabase)
        let events = (0..<20).map { TestSupport.track("f-\($0)") }
        try await producer.send(
            BatchTestKafka.messages(events, destination: "down", type: "postgres")
                + BatchTestKafka.messages(events, destination: "disk", type: "local_storage"))

        let disk = LocalDirectoryStore(root: directory)
        _ = try await eventually("files of the healthy destination") { () -> Bool? in
            var count = 0
            for key in try await disk.list(prefix: "web/") { count += try Self.events(in: try await disk.get(key: key)).count }
            return count >= 20 ? true : nil
        }
        let failed = try await eventually("a retried failed load in the history") { () -> String? in
            let rows = try await query(
                testDatabase.database,
                "SELECT attempts || '|' || row_count || '|' || error FROM batch_router.uploads WHERE destination_id = 'down' AND status = 'failed' AND attempts >= 3",
                as: String.self)
            return rows.first
        }
        XCTAssertTrue(failed.hasSuffix("|20|warehouse load unavailable: connection: connectionError") || failed.contains("|20|warehouse load"), failed)
        XCTAssertFalse(failed.contains("moto-secret"), "no password in errors")
        let uploaded = try await query(
            testDatabase.database, "SELECT count(*)::int4 FROM batch_router.uploads WHERE destination_id = 'disk' AND status = 'uploaded'",
            as: Int32.self)
        XCTAssertGreaterThanOrEqual(uploaded[0], 1)

        await router.stop()
        producing.cancel()
        try await testDatabase.drop()
    }

    static func events(in file: [UInt8]) throws -> [JSON] {
        let text = try XCTUnwrap(Gunzip.decompress(file), "gzip")
        return try text.split(separator: UInt8(ascii: "\n")).map { try JSON(parsing: Array($0)) }
    }
}

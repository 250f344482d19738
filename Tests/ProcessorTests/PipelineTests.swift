import Destinations
import EventModel
import KafkaTransport
import ProcessorService
import WorkspaceConfig
import XCTest

/// The pipeline (stages 3–4) without I/O: routing from a workspace, fan-out, filters, the
/// transformation seam, and the messages it would produce.
final class PipelineTests: XCTestCase {
    static let workspace = Workspace(
        id: "acme",
        sources: [Source(id: "web", writeKey: "wk")],
        destinations: [
            Destination(id: "hook", name: "Hook", type: "webhook", config: ["url": "https://hooks.example.com/in"]),
            Destination(
                id: "cio", name: "CIO", type: "customerio", config: ["siteId": "site", "apiKey": "${CIO_KEY}"],
                consentCategories: ["marketing"]),
            Destination(
                id: "ga", name: "GA", type: "ga4", config: ["measurementId": "G-1", "apiSecret": "sec"],
                eventFilter: .deny(["Heartbeat"])),
            Destination(id: "lake", name: "Lake", type: "s3", config: ["bucket": "b"]),
            Destination(id: "js", name: "JS hook", type: "webhook", config: ["url": "https://js.example.com"], transformation: "t1"),
            Destination(id: "broken", name: "Broken", type: "webhook", config: ["url": "${UNSET_URL}"]),
        ],
        connections: [Connection(source: "web", destinations: ["hook", "cio", "ga", "lake", "js", "broken"])])

    func routing(environment: [String: String] = ["CIO_KEY": "cio-secret"]) -> RoutingTable {
        RoutingTable(
            snapshot: WorkspaceSnapshot(version: 1, workspace: Self.workspace), registry: .standard,
            secrets: SecretResolver(environment: environment))
    }

    func input(_ event: JSON, workspace: String = "acme") -> InputEvent {
        InputEvent(workspaceId: workspace, sourceId: "web", messageId: event["messageId"]?.stringValue ?? "", messageType: event.messageType!, event: event)
    }

    func run(_ events: [JSON], workspace: String = "acme") async -> PipelineOutput {
        var output = PipelineOutput()
        await EventPipeline(topics: Topics(), transformer: UnavailableUserTransformer())
            .run(events.map { input($0, workspace: workspace) }, routing: routing(), into: &output)
        return output
    }

    static let track: JSON = [
        "type": "track", "event": "Signed Up", "messageId": "m1", "userId": "u1", "anonymousId": "a1",
        "receivedAt": "2026-11-29T12:00:00.000Z", "timestamp": "2026-11-29T12:00:00.000Z", "properties": ["plan": "pro"],
    ]

    func testFansOutToEveryConnectedDestination() async throws {
        let output = await run([Self.track])
        let byTopic = Dictionary(grouping: output.messages, by: \.topic)
        XCTAssertEqual(Set(byTopic.keys), ["keel.deliver.webhook", "keel.deliver.customerio", "keel.deliver.ga4", "keel.batch"])
        let hook = try DeliveryJob(parsing: XCTUnwrap(byTopic["keel.deliver.webhook"]?.first).value)
        XCTAssertEqual(hook.destinationId, "hook")
        XCTAssertEqual(hook.key, "hook:a1")
        XCTAssertEqual(hook.messageId, "m1")
        XCTAssertEqual(hook.eventName, "Signed Up")
        XCTAssertEqual(hook.attempt, 0)
        XCTAssertEqual(hook.requests.first?.url, "https://hooks.example.com/in")
        XCTAssertEqual(byTopic["keel.deliver.webhook"]?.first?.key, Array("hook:a1".utf8))
        let cio = try DeliveryJob(parsing: XCTUnwrap(byTopic["keel.deliver.customerio"]?.first).value)
        XCTAssertEqual(cio.requests.first?.url, "https://track.customer.io/api/v1/customers/u1/events")
        XCTAssertNotNil(cio.requests.first?.header("Authorization"), "${CIO_KEY} resolved from the environment")
        let row = try BatchRow(parsing: XCTUnwrap(byTopic["keel.batch"]?.first).value)
        XCTAssertEqual(row.destinationId, "lake")
        XCTAssertEqual(row.event, Self.track)
        XCTAssertEqual(output.counts.jobs, ["webhook": 1, "customerio": 1, "ga4": 1])
        XCTAssertEqual(output.counts.batchRows, 1)
    }

    /// The webhook's body is the event unchanged: it is copied from the event's text as received
    /// when that text is exactly the tree's serialisation. The messages must be byte for byte
    /// those written from the tree, whatever the timestamp correction or the mapping changed.
    func testMessagesFromKeptEventTextAreThoseFromTheTree() async throws {
        let events = [
            // timestamp absent: corrected and appended to the text
            #"{"type":"track","event":"Signed Up","messageId":"m1","anonymousId":"a1","properties":{"price":19.99,"n":-2},"originalTimestamp":"2026-11-29T12:00:00.000Z","sentAt":"2026-11-29T12:00:01.000Z","receivedAt":"2026-11-29T12:00:01.500Z"}"#,
            // timestamp valid: nothing changes
            #"{"type":"track","event":"Viewed","messageId":"m2","userId":"u2","receivedAt":"2026-11-29T12:00:00.000Z","timestamp":"2026-11-29T11:00:00.000Z"}"#,
            // timestamp invalid: replaced in place, the text is dropped
            #"{"type":"track","event":"Viewed","messageId":"m3","userId":"u3","receivedAt":"2026-11-29T12:00:00.000Z","timestamp":"yesterday"}"#,
            // a webhook override: the body is the event without it, so not the text
            #"{"type":"track","event":"Viewed","messageId":"m4","userId":"u4","appendPath":"/x","receivedAt":"2026-11-29T12:00:00.000Z"}"#,
            // not compact: no text kept
            #"{"type": "identify","messageId":"m5","userId":"u5","traits":{"email":"a@b.c"},"receivedAt":"2026-11-29T12:00:00.000Z"}"#,
        ]
        var withText: [InputEvent] = []
        var withoutText: [InputEvent] = []
        for event in events {
            var bytes: [UInt8] = []
            IngestRecord.serializePrefix(workspaceId: "acme", sourceId: "web", into: &bytes)
            bytes += Array(event.utf8) + IngestRecord.suffix
            let (record, text) = try IngestRecord.parsingKeepingEventText(bytes)
            var kept = InputEvent(
                workspaceId: "acme", sourceId: "web", messageId: record.event["messageId"]?.stringValue ?? "",
                messageType: try XCTUnwrap(record.event.messageType), event: record.event, eventText: text)
            TimestampCorrection.apply(to: &kept)
            withText.append(kept)
            var plain = input(record.event)
            TimestampCorrection.apply(to: &plain.event)
            withoutText.append(plain)
            XCTAssertEqual(kept.event, plain.event)
        }
        XCTAssertEqual(withText.map { $0.eventText != nil }, [true, true, false, true, false], "the cases above take the path they are meant to")

        let pipeline = EventPipeline(topics: Topics(), transformer: UnavailableUserTransformer())
        var fromText = PipelineOutput()
        await pipeline.run(withText, routing: routing(), into: &fromText)
        var fromTree = PipelineOutput()
        await pipeline.run(withoutText, routing: routing(), into: &fromTree)
        XCTAssertEqual(fromText.messages.count, fromTree.messages.count)
        XCTAssertGreaterThan(fromText.messages.filter { $0.topic == "keel.deliver.webhook" }.count, 3)
        for (a, b) in zip(fromText.messages, fromTree.messages) {
            XCTAssertEqual(a.topic, b.topic)
            XCTAssertEqual(a.key, b.key)
            XCTAssertEqual(String(decoding: a.value, as: UTF8.self), String(decoding: b.value, as: UTF8.self))
        }
    }

    func testTransformationAttachedIsRecordedNotDeliveredUntransformed() async {
        let output = await run([Self.track])
        XCTAssertFalse(output.messages.contains { $0.key == Array("js:a1".utf8) })
        let error = output.errors.first { $0.destinationId == "js" }
        XCTAssertEqual(error?.stage, .userTransformation)
        XCTAssertEqual(error?.reason, "transformations not available")
        XCTAssertEqual(error?.payload, Self.track, "kept for replay")
    }

    func testConfigErrorsNameTheVariableNotTheValue() async {
        let output = await run([Self.track])
        let error = output.errors.first { $0.destinationId == "broken" }
        XCTAssertEqual(error?.stage, .destinationConfig)
        XCTAssertTrue(error?.reason.contains("UNSET_URL") ?? false, error?.reason ?? "")
        XCTAssertEqual(output.counts.errors[.destinationConfig], 1)
        XCTAssertFalse(output.errors.contains { $0.reason.contains("cio-secret") })
    }

    func testFiltersCountInsteadOfSending() async {
        var event = Self.track
        event["integrations"] = ["All": true, "Webhook": false]
        event["context"] = ["consentManagement": ["deniedConsentIds": ["marketing"]]]
        var heartbeat = event
        heartbeat["event"] = "Heartbeat"
        heartbeat["messageId"] = "m2"
        let output = await run([event, heartbeat])
        let topics = output.messages.map(\.topic)
        XCTAssertFalse(topics.contains("keel.deliver.webhook"), "integrations Webhook: false")
        XCTAssertFalse(topics.contains("keel.deliver.customerio"), "marketing consent denied")
        XCTAssertEqual(topics.filter { $0 == "keel.deliver.ga4" }.count, 1, "Heartbeat denied for GA4")
        // Webhook false addresses both webhook destinations (hook, js, broken).
        XCTAssertEqual(output.counts.filtered[.integrations], 6)
        XCTAssertEqual(output.counts.filtered[.consent], 2)
        XCTAssertEqual(output.counts.filtered[.eventFilter], 1)
    }

    func testMappingDropsAndAbortsAreSeparated() async {
        let identify: JSON = ["type": "identify", "messageId": "m3", "anonymousId": "a1", "traits": ["plan": "pro"]]
        let output = await run([identify])
        XCTAssertEqual(output.counts.filtered[.mapping], 1, "GA4 drops identify")
        let cio = output.errors.first { $0.destinationId == "cio" }
        XCTAssertEqual(cio?.stage, .destinationTransformation, "Customer.io identify without userId or email aborts")
        XCTAssertEqual(cio?.reason, "identify needs a userId or an email trait")
    }

    func testUnknownWorkspaceIsARoutingError() async {
        let output = await run([Self.track], workspace: "other")
        XCTAssertTrue(output.messages.isEmpty)
        XCTAssertEqual(output.errors.map(\.stage), [.routing])
    }

    func testOrderIsKeptPerDestinationAndUser() async throws {
        let events: [JSON] = (0..<20).map { index in
            var event = Self.track
            event["messageId"] = .string("m\(index)")
            event["anonymousId"] = .string("user\(index % 3)")
            return event
        }
        let output = await run(events)
        let jobs = try output.messages.filter { $0.topic == "keel.deliver.webhook" }.map { try DeliveryJob(parsing: $0.value) }
        for user in 0..<3 {
            let ids = jobs.filter { $0.userKey == "user\(user)" }.map(\.messageId)
            XCTAssertEqual(ids, (0..<20).filter { $0 % 3 == user }.map { "m\($0)" })
        }
    }
}

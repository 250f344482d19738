import EventModel
import XCTest

/// A user transformation attached to a destination, end to end: SDK events into the gateway come
/// out of the router transformed (or dropped), and a new version of the transformation applies to
/// later events without restarting anything.
final class TransformationEndToEndTests: XCTestCase {
    static let shared = SharedHarness { tools in TransformationEndToEndTests.yaml(tools: tools, version: "v1") }

    override class func tearDown() {
        shared.stopBlocking()
        super.tearDown()
    }

    static let writeKey = "wk-js"

    /// The email filter of docs/configuration.md (a library plus a transformation that imports it),
    /// extended to stamp the version and rename the event.
    static func yaml(tools: String, version: String) -> String {
        """
        workspace: acme
        sources:
          - {id: src-js, name: JS app, writeKey: \(writeKey)}
        destinations:
        \(TransformedWebhook.destination(tools: tools, transformation: "clean"))
        connections:
          - {source: src-js, destinations: [webhook]}
        transformations:
          - id: clean
            code: |
              import { rudderEmail } from 'isRudderEmail';
              export function transformEvent(event, metadata) {
                if (rudderEmail(event.context?.traits?.email ?? '')) return null;
                event.event = (event.event ?? '').toUpperCase();
                event.properties = { ...event.properties, transformedBy: '\(version)' };
                return event;
              }
        libraries:
          - name: isRudderEmail
            code: |
              export function rudderEmail(email) { return /@(rudderlabs|rudderstack)|\\+ruddertest/.test(email); }
        """
    }

    static let t1 = "2026-11-29T12:00:01.000Z"

    static func track(_ id: String, email: String) -> JSON {
        SDKEvent.make(
            "track", messageId: id, userId: "js-user-1", timestamp: t1,
            fields: ["event": "Order Completed", "properties": ["total": 42]], context: ["traits": ["email": .string(email)]])
    }

    func testTransformedEventsArriveFilteredAndANewVersionAppliesWithoutRestart() async throws {
        let harness = try await Self.shared.get()
        try await harness.sendBatch(
            writeKey: Self.writeKey,
            [Self.track("js-1", email: "ann@example.com"), Self.track("js-2", email: "qa@rudderstack.com"), Self.track("js-3", email: "bob@example.com")])
        let first = try await harness.waitForRequests("webhook") { $0.count >= 2 }
        XCTAssertEqual(first.compactMap { $0.json?["messageId"]?.stringValue }, ["js-1", "js-3"], "the internal address was dropped")
        for request in first {
            XCTAssertEqual(request.status, 200)
            XCTAssertEqual(request.json?["event"], "ORDER COMPLETED")
            XCTAssertEqual(request.json?[path: "properties", "transformedBy"], "v1")
            XCTAssertEqual(request.json?[path: "properties", "total"], 42, "the event's own fields are kept")
        }

        try await harness.apply(workspaceYAML: Self.yaml(tools: harness.tools.baseURL, version: "v2"))
        // The processor reloads the workspace on NOTIFY; events sent meanwhile may still meet v1.
        let deadline = ContinuousClock.now + .seconds(20)
        var sent = 0
        var transformedByV2: ReceivedRequest?
        while transformedByV2 == nil, ContinuousClock.now < deadline {
            sent += 1
            try await harness.sendBatch(writeKey: Self.writeKey, [Self.track("js-v2-\(sent)", email: "cy@example.com")])
            try await Task.sleep(for: .milliseconds(300))
            transformedByV2 = harness.tools.received("webhook").first { $0.json?[path: "properties", "transformedBy"] == "v2" }
        }
        XCTAssertNotNil(transformedByV2, "the new version applies to later events without a restart")
        XCTAssertEqual(transformedByV2?.json?["event"], "ORDER COMPLETED")
    }
}

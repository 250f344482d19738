import EventModel
import Foundation
import XCTest

/// A transformation that enriches events with `fetch` (the Clearbit pattern), end to end: allowed
/// by the workspace's `settings.transformations.fetchAllowedHosts`, and refused with a recorded
/// error once the host is taken off the list (without a restart).
final class TransformationFetchEndToEndTests: XCTestCase {
    static let shared = SharedHarness { tools in TransformationFetchEndToEndTests.yaml(tools: tools, allowed: true) }

    override class func tearDown() {
        shared.stopBlocking()
        super.tearDown()
    }

    static let writeKey = "wk-fetch"

    static func yaml(tools: String, allowed: Bool) -> String {
        let host = URL(string: tools).map { "\($0.host ?? ""):\($0.port ?? 80)" } ?? ""
        return """
            workspace: acme
            settings:
              transformations:
                fetchAllowedHosts: [\(allowed ? "\"\(host)\"" : "\"enrichment.example.com\"")]
            sources:
              - {id: src-fetch, name: Fetch app, writeKey: \(writeKey)}
            destinations:
            \(TransformedWebhook.destination(tools: tools, transformation: "enrich"))
            connections:
              - {source: src-fetch, destinations: [webhook]}
            transformations:
              - id: enrich
                code: |
                  export async function transformEvent(event, metadata) {
                    const email = event.context?.traits?.email ?? '';
                    const person = await fetch('\(tools)/enrich/person?email=' + encodeURIComponent(email));
                    event.properties = { ...event.properties, company: person.company };
                    return event;
                  }
            """
    }

    static func track(_ id: String, email: String) -> JSON {
        SDKEvent.make(
            "track", messageId: id, userId: "fetch-user", timestamp: "2026-11-29T12:00:01.000Z",
            fields: ["event": "Signed Up", "properties": ["plan": "pro"]], context: ["traits": ["email": .string(email)]])
    }

    func testAFetchToAnAllowedHostEnrichesEventsAndAHostTakenOffTheListIsRefused() async throws {
        let harness = try await Self.shared.get()
        try await harness.sendBatch(writeKey: Self.writeKey, [Self.track("fetch-1", email: "ann@acme.example")])
        let first = try await harness.waitForRequests("webhook") { $0.count >= 1 }
        XCTAssertEqual(first.first?.json?["messageId"], "fetch-1")
        XCTAssertEqual(first.first?.json?[path: "properties", "company"], "Acme Corp", "enriched from the fetched answer")
        XCTAssertEqual(first.first?.json?[path: "properties", "plan"], "pro")
        let lookups = harness.tools.received("enrich")
        XCTAssertEqual(lookups.first?.query["email"], "ann@acme.example", "the transformation's request reached the API")

        // The allow list no longer names the API's host: later events fail in the transformation,
        // with the reason recorded, and nothing reaches the webhook for them.
        try await harness.apply(workspaceYAML: Self.yaml(tools: harness.tools.baseURL, allowed: false))
        let deadline = ContinuousClock.now + .seconds(20)
        var sent = 0
        var refusals: [(stage: String, reason: String)] = []
        while refusals.isEmpty, ContinuousClock.now < deadline {
            sent += 1
            try await harness.sendBatch(writeKey: Self.writeKey, [Self.track("fetch-refused-\(sent)", email: "bob@acme.example")])
            try await Task.sleep(for: .milliseconds(300))
            refusals = try await harness.processingErrors(destination: "webhook")
                .filter { $0.reason.contains("not on this workspace's fetch allow list") }
        }
        XCTAssertEqual(refusals.first?.stage, "user_transformation", "\(refusals)")
        XCTAssertTrue(refusals.first?.reason.contains("host 127.0.0.1") == true, refusals.first?.reason ?? "no refusal recorded")
    }
}

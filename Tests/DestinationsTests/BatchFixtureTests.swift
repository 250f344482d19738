import Destinations
import EventModel
import Foundation
import XCTest

/// Golden fixtures of batch requests, under Fixtures/<type>/batch/, written from each tool's
/// public API docs: a config and several events; `expected.requests` are the batch requests the
/// router sends when the events' jobs are ready together (grouped as the router groups them, in
/// order), `alone` lists the events (by position) that are never batched. With an `answer`
/// (`{status, body}`), `expected.itemErrors` are the rejected items read from it.
final class BatchFixtureTests: XCTestCase {
    func runBatchFixtures(type: String) throws {
        let directory = FixtureTests.fixturesDirectory.appendingPathComponent(type).appendingPathComponent("batch")
        let names = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasSuffix(".json") }.sorted()
        XCTAssertFalse(names.isEmpty, "no batch fixtures for \(type)")
        let definition = try XCTUnwrap(DestinationRegistry.standard.definition(forType: type))
        let spec = try XCTUnwrap(DestinationRegistry.standard.batchSpec(forType: type), type)
        for name in names {
            let fixture = try JSON(parsing: Array(Data(contentsOf: directory.appendingPathComponent(name))))
            let mapper = try definition.makeMapper(fixture["config"] ?? [:])
            var groups: [(group: BatchGroup, entries: [BatchEntry], headers: [(name: String, value: String)])] = []
            var alone: [JSON] = []
            for (index, event) in (fixture["events"]?.arrayValue ?? []).enumerated() {
                guard case .requests(let requests) = definition.transform(event, with: mapper) else {
                    XCTFail("\(type)/batch/\(name): event \(index) did not map to requests")
                    continue
                }
                guard requests.count == 1, let entry = spec.entry(for: requests[0]) else {
                    alone.append(.int(Int64(index)))
                    continue
                }
                if let position = groups.firstIndex(where: { $0.group == entry.group }) {
                    groups[position].entries.append(entry)
                } else {
                    groups.append((entry.group, [entry], requests[0].headers))
                }
            }
            let merged: [JSON] = groups.compactMap { group in
                guard let request = spec.request(for: group.entries, headers: group.headers) else { return nil }
                var headers = JSONObject()
                for header in request.headers { headers[header.name] = .string(header.value) }
                let body: JSON = if case .json(let value) = request.body { value } else { .null }
                return ["method": .string(request.method.rawValue), "url": .string(request.url), "headers": .object(headers), "body": body]
            }
            let expected = try XCTUnwrap(fixture["expected"], name)
            XCTAssertEqual(JSON.array(merged), expected["requests"], "\(type)/batch/\(name)\nactual: \(JSON.array(merged))")
            XCTAssertEqual(JSON.array(alone), expected["alone"] ?? [], "\(type)/batch/\(name): events sent alone")
            if let answer = fixture["answer"] {
                let endpoint = try XCTUnwrap(groups.first.flatMap { spec.endpoint(of: $0.group) })
                let status = Int(answer["status"]?.intValue ?? 0)
                let itemErrors = try XCTUnwrap(endpoint.itemErrors, "\(name): the endpoint reads no item errors")
                XCTAssertTrue(itemErrors.statuses.contains(status), "\(name): item errors are not read from a \(status)")
                let errors = itemErrors.parse(answer["body"] ?? .null).map { error -> JSON in
                    ["field": .string(error.field), "index": .int(Int64(error.index)), "message": .string(error.message)]
                }
                XCTAssertEqual(JSON.array(errors), expected["itemErrors"], "\(type)/batch/\(name): item errors")
            }
        }
    }

    func testAmplitudeBatches() throws { try runBatchFixtures(type: "amplitude") }
    func testBrazeBatches() throws { try runBatchFixtures(type: "braze") }
    func testCustomerIOBatches() throws { try runBatchFixtures(type: "customerio") }
    func testHubSpotBatches() throws { try runBatchFixtures(type: "hubspot") }
    func testMixpanelBatches() throws { try runBatchFixtures(type: "mixpanel") }

    /// Types without a batch endpoint have no spec: their jobs are always sent alone.
    func testOtherTypesHaveNoBatchSpec() {
        for type in ["webhook", "ga4", "slack", "intercom"] {
            XCTAssertNil(DestinationRegistry.standard.batchSpec(forType: type), type)
        }
    }

    /// A request over an endpoint's item limit on its own is not batched.
    func testARequestOverTheItemLimitIsSentAlone() throws {
        let spec = try XCTUnwrap(DestinationRegistry.standard.batchSpec(forType: "braze"))
        let purchases = JSON.array((0..<76).map { index in ["external_id": "u1", "product_id": .string("p\(index)"), "price": 1.0] })
        let request = DestinationRequest(
            method: .post, url: "https://rest.iad-01.braze.com/users/track", headers: [("Authorization", "Bearer k")],
            body: .json(["purchases": purchases]))
        XCTAssertNil(spec.entry(for: request))
    }
}

import Destinations
import EventModel
import Foundation
import XCTest

/// Golden fixtures under Fixtures/<type>/, written from each tool's public API docs: a config,
/// an input event, and the expected outcome (`requests`, `drop`, `abort`, or `configError` with
/// the offending key). The test runs the same function the processor and the CLI run.
final class FixtureTests: XCTestCase {
    static let fixturesDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")

    struct Fixture {
        var type: String
        var name: String
        var json: JSON
    }

    static func fixtures(type: String) throws -> [Fixture] {
        let directory = fixturesDirectory.appendingPathComponent(type)
        let names = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasSuffix(".json") }.sorted()
        return try names.map { name in
            let bytes = try Array(Data(contentsOf: directory.appendingPathComponent(name)))
            return Fixture(type: type, name: name, json: try JSON(parsing: bytes))
        }
    }

    func runFixtures(type: String) throws {
        let fixtures = try Self.fixtures(type: type)
        XCTAssertFalse(fixtures.isEmpty, "no fixtures for \(type)")
        let definition = try XCTUnwrap(DestinationRegistry.standard.definition(forType: type))
        for fixture in fixtures {
            let config = fixture.json["config"] ?? .object(JSONObject())
            let event = try XCTUnwrap(fixture.json["event"], fixture.name)
            let expected = try XCTUnwrap(fixture.json["expected"], fixture.name)
            let mapper: any EventMapper
            do {
                mapper = try definition.makeMapper(config)
            } catch {
                XCTAssertEqual(expected["configError"]?.stringValue, error.key, "\(type)/\(fixture.name): \(error)")
                continue
            }
            XCTAssertNil(expected["configError"], "\(type)/\(fixture.name): config accepted but expected an error")
            let actual = Self.outcomeJSON(definition.transform(event, with: mapper))
            XCTAssertEqual(actual, expected, "\(type)/\(fixture.name)\nactual:   \(actual)\nexpected: \(expected)")
        }
    }

    static func outcomeJSON(_ outcome: MappingOutcome) -> JSON {
        switch outcome {
        case .requests(let requests): ["requests": .array(requests.map(\.json))]
        case .plan(let plan): ["plan": plan.json]
        case .batchRow(let row): ["batchRow": row]
        case .drop(let reason): ["drop": .string(reason)]
        case .abort(let reason): ["abort": .string(reason)]
        }
    }

    func testWebhookFixtures() throws { try runFixtures(type: "webhook") }
    func testCustomerIOFixtures() throws { try runFixtures(type: "customerio") }
    func testGA4Fixtures() throws { try runFixtures(type: "ga4") }

    /// Every real-time type has fixtures for each message type it supports and for at least one it
    /// does not (the error), so a new mapping cannot land untested.
    func testFixturesCoverEverySupportedMessageType() throws {
        for definition in DestinationRegistry.standard.definitions where definition.kind == .stream {
            let fixtures = try Self.fixtures(type: definition.type)
            var covered = Set<MessageType>()
            var unsupportedCovered = false
            for fixture in fixtures where fixture.json[path: "expected", "configError"] == nil {
                guard let type = fixture.json["event"]?.messageType else { continue }
                if definition.supportedMessageTypes.contains(type) {
                    if fixture.json[path: "expected", "requests"] != nil || fixture.json[path: "expected", "drop"] != nil
                        || fixture.json[path: "expected", "plan"] != nil
                    {
                        covered.insert(type)
                    }
                } else {
                    unsupportedCovered = true
                }
            }
            XCTAssertEqual(covered, definition.supportedMessageTypes, "\(definition.type): message types without a fixture")
            if definition.supportedMessageTypes.count < MessageType.allCases.count {
                XCTAssertTrue(unsupportedCovered, "\(definition.type): no fixture for an unsupported message type")
            }
        }
    }

    func testBatchTypesPassTheEventThrough() throws {
        for type in ["s3", "local_storage", "postgres", "snowflake"] {
            let definition = try XCTUnwrap(DestinationRegistry.standard.definition(forType: type))
            XCTAssertEqual(definition.kind, .batch)
            let event: JSON = ["type": "track", "event": "Signed Up", "userId": "u1", "messageId": "m1"]
            XCTAssertEqual(definition.transform(event, with: try definition.makeMapper([:])), .batchRow(event))
        }
    }
}

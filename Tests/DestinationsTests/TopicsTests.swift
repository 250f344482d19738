import Destinations
import EventModel
import XCTest

/// `keel topics` (and the local stack's broker) create these up front.
final class TopicsTests: XCTestCase {
    func testEveryStreamDestinationTypeHasADeliverTopicAndBatchTypesHaveNone() {
        let registry = DestinationRegistry.standard
        let topics = registry.topics(Topics(prefix: "acme."))
        XCTAssertEqual(Array(topics.prefix(2)), ["acme.ingest", "acme.batch"])
        for definition in registry.definitions {
            let deliver = "acme.deliver.\(definition.type)"
            XCTAssertEqual(
                topics.contains(deliver), definition.kind == .stream, "\(definition.type): a deliver topic only for stream types")
        }
        XCTAssertTrue(topics.contains("acme.deliver.amplitude"))
        XCTAssertEqual(Set(topics).count, topics.count, "no topic twice")
    }
}

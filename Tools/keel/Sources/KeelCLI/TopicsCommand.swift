import ArgumentParser
import Destinations
import EventModel

/// `keel topics`: the Kafka topics the services use, one per line, for creating them before the
/// services start (docs/kafka.md). Needs no database or broker.
struct TopicsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "topics",
        abstract: "Print the Kafka topics Keel uses (ingest, batch, one deliver topic per destination type)."
    )

    @Option(help: "Topic prefix, as KEEL_TOPIC_PREFIX.")
    var prefix = "keel."

    func run() {
        for topic in DestinationRegistry.standard.topics(Topics(prefix: prefix)) { print(topic) }
    }
}

/// Kafka topic names, under a configurable prefix (`KEEL_TOPIC_PREFIX`, default `keel.`).
///
/// See docs/architecture.md, "Topics".
public struct Topics: Sendable, Hashable {
    public let prefix: String

    public init(prefix: String = "keel.") {
        self.prefix = prefix
    }

    /// Events accepted by the gateway (value: ``IngestRecord``).
    public var ingest: String { prefix + "ingest" }

    /// Rows for batch destinations.
    public var batch: String { prefix + "batch" }

    /// Delivery jobs for one destination type, e.g. `keel.deliver.webhook`.
    public func deliver(destinationType: String) -> String {
        prefix + "deliver." + destinationType
    }

    /// A librdkafka regex subscription matching every deliver topic, e.g. `^keel\.deliver\..*`.
    public var deliverPattern: String {
        "^" + Self.escapedForRegex(prefix) + #"deliver\..*"#
    }

    /// The destination type of a deliver topic, or `nil` for any other topic.
    public func destinationType(ofDeliverTopic topic: String) -> String? {
        let head = prefix + "deliver."
        guard topic.hasPrefix(head), topic.utf8.count > head.utf8.count else { return nil }
        return String(topic.dropFirst(head.count))
    }

    private static func escapedForRegex(_ text: String) -> String {
        var escaped = ""
        for character in text {
            if #"\^$.|?*+()[]{}"#.contains(character) { escaped.append("\\") }
            escaped.append(character)
        }
        return escaped
    }
}

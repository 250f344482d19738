import Foundation

/// A message header: a key and raw bytes. Kafka allows repeated keys.
public typealias KafkaHeader = (key: String, value: [UInt8])

/// A topic and a partition.
public struct TopicPartition: Hashable, Sendable, CustomStringConvertible {
    public var topic: String
    public var partition: Int32

    public init(topic: String, partition: Int32) {
        self.topic = topic
        self.partition = partition
    }

    public var description: String { "\(topic)[\(partition)]" }
}

/// A message to produce. Key, value and headers are copied into librdkafka when sent.
public struct OutgoingMessage: Sendable {
    public var topic: String
    /// The partitioning key; `nil` spreads messages over partitions.
    public var key: [UInt8]?
    public var value: [UInt8]
    public var headers: [KafkaHeader]

    public init(topic: String, key: [UInt8]?, value: [UInt8], headers: [KafkaHeader] = []) {
        self.topic = topic
        self.key = key
        self.value = value
        self.headers = headers
    }
}

/// A message read by ``KafkaConsumer``.
public struct ConsumedMessage: Sendable {
    public var topic: String
    public var partition: Int32
    public var offset: Int64
    public var key: [UInt8]?
    public var value: [UInt8]
    public var headers: [KafkaHeader]
    /// The message's timestamp (create or log-append time), if it has one.
    public var timestamp: Date?
    /// Which assignment of its partition the message was read under; stores from an
    /// assignment that was since revoked are ignored.
    var assignmentGeneration: UInt64

    public init(
        topic: String, partition: Int32, offset: Int64, key: [UInt8]?, value: [UInt8],
        headers: [KafkaHeader] = [], timestamp: Date? = nil
    ) {
        self.init(
            topic: topic, partition: partition, offset: offset, key: key, value: value, headers: headers,
            timestamp: timestamp, assignmentGeneration: 0)
    }

    init(
        topic: String, partition: Int32, offset: Int64, key: [UInt8]?, value: [UInt8], headers: [KafkaHeader],
        timestamp: Date?, assignmentGeneration: UInt64
    ) {
        self.topic = topic
        self.partition = partition
        self.offset = offset
        self.key = key
        self.value = value
        self.headers = headers
        self.timestamp = timestamp
        self.assignmentGeneration = assignmentGeneration
    }

    public var topicPartition: TopicPartition { TopicPartition(topic: topic, partition: partition) }
}

import KafkaTransport

/// Which keys' parked rows this router replica may load: those whose Kafka partition it is
/// assigned. A key's jobs always arrive on one partition of its deliver topic (the processor keys
/// them `<destinationId>:<userKey>` and partitions by murmur2), so the replica that consumes a key's
/// new jobs is also the one that drains its parked backlog, and order per key holds with several
/// replicas. Recomputed by hashing (not read from the rows), so it follows the key wherever Kafka
/// puts it.
struct PartitionOwnership: Sendable {
    /// Partitions assigned to this replica.
    private(set) var assigned: Set<PartitionRef> = []
    /// Partitions per topic, from the cluster's metadata at the last assignment.
    private(set) var partitionCounts: [String: Int] = [:]
    /// The deliver topic of each destination seen (a destination id has one type, so one topic).
    private(set) var topicOfDestination: [String: String] = [:]

    /// The partition `key`'s jobs are produced to on `topic`, or nil when the topic's size is unknown.
    func partition(of key: DeliveryKey, topic: String) -> PartitionRef? {
        guard let count = partitionCounts[topic], count > 0 else { return nil }
        let partition = KafkaPartitioner.murmur2Partition(key: Array(key.description.utf8), partitionCount: count)
        return PartitionRef(topic: topic, partition: partition)
    }

    /// Whether `key`'s partition on `topic` is one of `partitions` (default: the assignment).
    func owns(_ key: DeliveryKey, topic: String, among partitions: Set<PartitionRef>? = nil) -> Bool {
        guard let partition = partition(of: key, topic: topic) else { return false }
        return (partitions ?? assigned).contains(partition)
    }

    /// Whether this replica owns `key`, by its destination's known topic. A destination never seen
    /// is not owned.
    func owns(_ key: DeliveryKey) -> Bool {
        guard let topic = topicOfDestination[key.destinationId] else { return false }
        return owns(key, topic: topic)
    }

    mutating func assign(_ partitions: [PartitionRef], partitionCounts counts: [String: Int]) {
        assigned.formUnion(partitions)
        partitionCounts.merge(counts) { _, new in new }
    }

    mutating func revoke(_ partitions: [PartitionRef]) {
        assigned.subtract(partitions)
    }

    mutating func noteTopic(_ topic: String, of destinationId: String) {
        if topicOfDestination[destinationId] != topic { topicOfDestination[destinationId] = topic }
    }
}

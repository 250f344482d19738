import CRdKafka

/// Which partition a keyed message goes to, computed as Keel's producers place it.
public enum KafkaPartitioner {
    /// The partition of `key` among `partitionCount`, by librdkafka's murmur2 partitioner (the Java
    /// client's default; ``KafkaProducer/Configuration/partitioner`` `murmur2_random` places every
    /// keyed message this way). `partitionCount` must be at least 1.
    public static func murmur2Partition(key: [UInt8], partitionCount: Int) -> Int32 {
        precondition(partitionCount >= 1, "a topic has at least one partition")
        return key.withUnsafeBytes { bytes in
            // The keyed path reads only the key and the count; no topic handle is needed.
            rd_kafka_msg_partitioner_murmur2(nil, bytes.baseAddress, bytes.count, Int32(partitionCount), nil, nil)
        }
    }
}

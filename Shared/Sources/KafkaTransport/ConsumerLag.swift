import CRdKafka
import Foundation
import Metrics
import Synchronization

/// Exports a consumer's lag per assigned partition as the gauge `keel_kafka_consumer_lag`
/// (`group`, `topic`, `partition`): the partition's high watermark minus the group's committed
/// offset, from librdkafka's statistics (`statistics.interval.ms`). A partition that stops being
/// assigned to this member drops to 0 here (its new owner reports it).
final class ConsumerLagGauges: Sendable {
    private struct Key: Hashable {
        var topic: String
        var partition: String
    }

    private let group: String
    private let factory: any MetricsFactory
    private let gauges = Mutex<[Key: Gauge]>([:])

    init(group: String, factory: any MetricsFactory) {
        self.group = group
        self.factory = factory
    }

    /// Reads one statistics document (librdkafka's JSON) and records every partition's lag.
    func record(statistics: UnsafeRawBufferPointer) {
        guard let base = statistics.baseAddress,
            let document = try? JSONSerialization.jsonObject(with: Data(bytesNoCopy: UnsafeMutableRawPointer(mutating: base), count: statistics.count, deallocator: .none)) as? [String: Any],
            let topics = document["topics"] as? [String: Any]
        else { return }
        var current: [Key: Int] = [:]
        for (topic, value) in topics {
            guard let partitions = (value as? [String: Any])?["partitions"] as? [String: Any] else { continue }
            for (partition, value) in partitions where partition != "-1" {
                guard let stats = value as? [String: Any],
                    let state = stats["fetch_state"] as? String, state != "none",
                    let lag = (stats["consumer_lag"] as? NSNumber)?.intValue, lag >= 0
                else { continue }
                current[Key(topic: topic, partition: partition)] = lag
            }
        }
        gauges.withLock { gauges in
            for (key, gauge) in gauges where current[key] == nil { gauge.record(0) }
            for (key, lag) in current {
                let gauge = gauges[key] ?? Gauge(
                    label: "keel_kafka_consumer_lag",
                    dimensions: [("group", group), ("topic", key.topic), ("partition", key.partition)],
                    factory: factory)
                gauges[key] = gauge
                gauge.record(lag)
            }
        }
    }
}

/// librdkafka's statistics callback (on the consumer thread, from `rd_kafka_consumer_poll`).
let consumerStatisticsCallback:
    @convention(c) (OpaquePointer?, UnsafeMutablePointer<CChar>?, Int, UnsafeMutableRawPointer?) -> Int32 = {
        handle, json, length, _ in
        guard let json, let context = RdKafkaClient.context(of: handle) as? ConsumerContext else { return 0 }
        context.lag?.record(statistics: UnsafeRawBufferPointer(start: json, count: length))
        return 0  // librdkafka frees the document
    }

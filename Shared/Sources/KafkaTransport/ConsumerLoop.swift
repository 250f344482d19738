import CRdKafka
import Dispatch
import Foundation

/// The consumer thread: subscribes, polls batches and hands them over, then commits and closes.
struct ConsumerLoop {
    let client: RdKafkaClient
    let context: ConsumerContext
    let configuration: KafkaConsumer.Configuration

    func run() {
        var failure: KafkaError?
        defer {
            context.requestStop(drain: false)
            context.events.finish()
            context.finished.fire(failure)
        }
        let subscription = TopicPartitionList(
            configuration.topics.map { TopicPartition(topic: $0, partition: RD_KAFKA_PARTITION_UA) })
        let err = rd_kafka_subscribe(client.handle, subscription.pointer)
        subscription.destroy()
        if err != RD_KAFKA_RESP_ERR_NO_ERROR {
            failure = KafkaError(err, context: "subscribe")
            context.requestStop(drain: false)
            rd_kafka_consumer_close(client.handle)
            return
        }
        consume()
        failure = context.fatalError.withLock { $0 }
        shutDown(drain: context.stopRequested ?? false)
    }

    private func consume() {
        while context.stopRequested == nil {
            let batch = pollBatch()
            if batch.isEmpty { continue }
            handOver(batch)
        }
    }

    /// Waits up to 100 ms for a first message, then takes what is already there, up to the batch size.
    private func pollBatch() -> [ConsumedMessage] {
        var batch: [ConsumedMessage] = []
        var timeout: Int32 = 100
        while batch.count < configuration.maxBatchSize {
            guard let message = rd_kafka_consumer_poll(client.handle, timeout) else { break }
            timeout = 0
            defer { rd_kafka_message_destroy(message) }
            let err = message.pointee.err
            guard err == RD_KAFKA_RESP_ERR_NO_ERROR else {
                if err != RD_KAFKA_RESP_ERR__PARTITION_EOF {
                    context.logger.warning(
                        "kafka consume error", metadata: ["kafka.error": "\(String(cString: rd_kafka_err2str(err)))"])
                }
                continue
            }
            batch.append(convert(message))
        }
        return batch
    }

    /// Copies a message out of librdkafka. Takes the original pointer: librdkafka finds the
    /// headers and timestamp from the enclosing internal message, so a copy of the struct will not do.
    private func convert(_ pointer: UnsafeMutablePointer<rd_kafka_message_t>) -> ConsumedMessage {
        let message = pointer.pointee
        let topic = message.rkt.map { String(cString: rd_kafka_topic_name($0)) } ?? ""
        let key = message.key.map { Array(UnsafeRawBufferPointer(start: $0, count: message.key_len)) }
        let value = message.payload.map { Array(UnsafeRawBufferPointer(start: $0, count: message.len)) } ?? []
        var headers: [KafkaHeader] = []
        var headerList: OpaquePointer?
        if rd_kafka_message_headers(pointer, &headerList) == RD_KAFKA_RESP_ERR_NO_ERROR, let headerList {
            var index = 0
            var name: UnsafePointer<CChar>?
            var bytes: UnsafeRawPointer?
            var size = 0
            while rd_kafka_header_get_all(headerList, index, &name, &bytes, &size) == RD_KAFKA_RESP_ERR_NO_ERROR {
                let headerValue = bytes.map { Array(UnsafeRawBufferPointer(start: $0, count: size)) } ?? []
                headers.append((key: name.map { String(cString: $0) } ?? "", value: headerValue))
                index += 1
            }
        }
        var timestampType = RD_KAFKA_TIMESTAMP_NOT_AVAILABLE
        let milliseconds = rd_kafka_message_timestamp(pointer, &timestampType)
        let timestamp =
            timestampType == RD_KAFKA_TIMESTAMP_NOT_AVAILABLE
            ? nil : Date(timeIntervalSince1970: Double(milliseconds) / 1000)
        let partition = TopicPartition(topic: topic, partition: message.partition)
        return ConsumedMessage(
            topic: topic, partition: message.partition, offset: message.offset, key: key, value: value,
            headers: headers, timestamp: timestamp, assignmentGeneration: context.generation(of: partition))
    }

    /// Gives the batch to the reader, waiting while the buffer is full.
    private func handOver(_ batch: [ConsumedMessage]) {
        while true {
            let action = context.state.withLock { $0.handoff.push(batch) }
            switch action {
            case .resumeReader(let reader, let batch):
                reader.resume(returning: batch)
                return
            case .buffered, .dropped:
                return
            case .waitAndRetry:
                context.writerSignal.wait()
            }
        }
    }

    private func shutDown(drain: Bool) {
        if drain, context.state.withLock({ $0.handoff.writerShouldWaitForReader() }) {
            // Let the reader finish the batch in hand, so its offsets are stored before the commit.
            let deadline = DispatchTime.now() + .milliseconds(Int(configuration.shutdownDrainTimeout.milliseconds))
            if context.writerSignal.wait(timeout: deadline) == .timedOut {
                context.state.withLock { $0.handoff.writerStoppedWaiting() }
                context.logger.warning("kafka consumer closed while a batch was still being processed")
            }
        }
        let err = rd_kafka_commit(client.handle, nil, 0)
        if err != RD_KAFKA_RESP_ERR_NO_ERROR, err != RD_KAFKA_RESP_ERR__NO_OFFSET {
            context.logger.warning(
                "kafka commit at shutdown failed", metadata: ["kafka.error": "\(String(cString: rd_kafka_err2str(err)))"])
        }
        // Leaves the group; serves the final revoke through the rebalance callback.
        rd_kafka_consumer_close(client.handle)
        context.logger.info("kafka consumer closed")
    }
}

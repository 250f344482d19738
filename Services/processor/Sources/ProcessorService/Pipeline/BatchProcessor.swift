import Destinations
import EventModel
import KafkaTransport
import Logging
import ServiceRuntime
import Storage

/// One consumed batch, end to end, at least once:
///
/// 1. parse each IngestRecord once; drop messageIds repeated in the batch (same partition) and
///    those marked in `processor.dedup` within the window (one query);
/// 2. correct timestamps, run the pipeline (filters, transformations) into messages and errors;
/// 3. produce every message and wait for Kafka's acknowledgements (one produce-await);
/// 4. in one transaction, mark the batch's messageIds and record its errors;
/// 5. return: the caller stores the input offsets.
///
/// A crash before 4 replays the batch (its ids are not marked, so nothing is dropped as a
/// duplicate; downstream may see the replayed output twice, which the router and warehouse
/// dedupe on messageId). A crash between 4 and the offset commit replays a batch whose ids are
/// marked: it is dropped as duplicate, correctly, since its output was acknowledged.
public final class BatchProcessor: Sendable {
    let configuration: ProcessorConfiguration
    let pipeline: EventPipeline
    let database: Database
    let dedup: DedupStore
    let errors: ErrorStore
    let producer: KafkaProducer
    let routing: RoutingCache
    let metrics: ProcessorMetrics
    let logger: Logger

    public init(
        configuration: ProcessorConfiguration, pipeline: EventPipeline, database: Database, producer: KafkaProducer,
        routing: RoutingCache, metrics: ProcessorMetrics, logger: Logger
    ) {
        self.configuration = configuration
        self.pipeline = pipeline
        self.database = database
        self.dedup = DedupStore(database: database, window: configuration.dedupWindow)
        self.errors = ErrorStore(database: database, maxPayloadBytes: configuration.maxErrorPayloadBytes)
        self.producer = producer
        self.routing = routing
        self.metrics = metrics
        self.logger = logger
    }

    /// Processes `batch`; when it returns, the batch's effects are durable and its offsets may be
    /// stored. Throws after ``ProcessorConfiguration/batchAttempts`` failed attempts of a step.
    @discardableResult
    public func process(_ batch: [ConsumedMessage]) async throws -> PipelineCounts {
        let start = ContinuousClock.now
        var output = PipelineOutput()
        output.counts.received = batch.count

        // 1. Parse and deduplicate.
        var candidates: [(input: InputEvent, key: DedupStore.Key?)] = []
        candidates.reserveCapacity(batch.count)
        var inBatch = Set<DedupStore.Key>()
        for message in batch {
            guard let (input, key) = parse(message, into: &output) else { continue }
            if let key, !inBatch.insert(key).inserted {
                output.counts.duplicates += 1
                continue
            }
            candidates.append((input, key))
        }
        var seen = Set<DedupStore.Key>()
        if configuration.dedupEnabled {
            let keys = candidates.compactMap(\.key)
            seen = try await withRetries("dedup lookup") { try await self.dedup.seen(keys, logger: self.logger) }
        }
        var inputs: [InputEvent] = []
        inputs.reserveCapacity(candidates.count)
        var marks: [DedupStore.Key] = []
        for var candidate in candidates {
            if let key = candidate.key {
                if seen.contains(key) {
                    output.counts.duplicates += 1
                    continue
                }
                marks.append(key)
            }
            TimestampCorrection.apply(to: &candidate.input.event)
            inputs.append(candidate.input)
        }

        // 2. Stages 3–4.
        await pipeline.run(inputs, routing: routing.current(), into: &output)

        // 3. Produce and wait for acknowledgements.
        let messages = output.messages
        if !messages.isEmpty {
            try await withRetries("produce") { try await self.producer.send(messages) }
        }

        // 4. Mark ids and record errors.
        var errorRows = output.errors
        if errorRows.count > configuration.maxErrorRowsPerBatch {
            logger.warning(
                "too many processing errors in one batch; extra rows not stored",
                metadata: ["stored": "\(configuration.maxErrorRowsPerBatch)", "dropped": "\(errorRows.count - configuration.maxErrorRowsPerBatch)"])
            errorRows.removeLast(errorRows.count - configuration.maxErrorRowsPerBatch)
        }
        let toMark = configuration.dedupEnabled ? marks : []
        let rows = errorRows
        if !toMark.isEmpty || !rows.isEmpty {
            try await withRetries("record") { try await self.record(marks: toMark, errors: rows) }
        }
        for error in output.errors.prefix(10) {
            logger.debug(
                "processing error",
                metadata: [
                    "stage": "\(error.stage.rawValue)", LogKey.destination: "\(error.destinationId ?? "")",
                    LogKey.messageId: "\(error.messageId ?? "")", LogKey.error: "\(error.reason)",
                ])
        }
        metrics.record(output.counts, duration: ContinuousClock.now - start)
        return output.counts
    }

    private func parse(_ message: ConsumedMessage, into output: inout PipelineOutput) -> (InputEvent, DedupStore.Key?)? {
        let record: IngestRecord
        do {
            record = try IngestRecord(parsing: message.value)
        } catch {
            let preview = String(decoding: message.value.prefix(1024), as: UTF8.self)
            output.errors.append(ProcessingError(stage: .parse, reason: error.description, payload: .string(preview)))
            output.counts.errors[.parse, default: 0] += 1
            return nil
        }
        let messageId = record.event["messageId"]?.stringValue ?? ""
        guard let messageType = record.event.messageType else {
            output.errors.append(
                ProcessingError(
                    stage: .validation, reason: "event has no valid type", workspaceId: record.workspaceId,
                    sourceId: record.sourceId, messageId: messageId.isEmpty ? nil : messageId, payload: record.event))
            output.counts.errors[.validation, default: 0] += 1
            return nil
        }
        let input = InputEvent(
            workspaceId: record.workspaceId, sourceId: record.sourceId, messageId: messageId, messageType: messageType,
            event: record.event)
        let key = messageId.isEmpty ? nil : DedupStore.Key(partition: message.partition, messageId: messageId)
        return (input, key)
    }

    private func record(marks: [DedupStore.Key], errors errorRows: [ProcessingError]) async throws {
        do {
            try await database.withTransaction(logger: logger) { connection in
                try await self.dedup.mark(marks, on: connection, logger: self.logger)
                try await self.errors.insert(errorRows, on: connection, logger: self.logger)
            }
        } catch where errorRows.contains(where: { $0.payload != nil }) {
            // A payload Postgres refuses as jsonb (e.g. \u0000 in a string) must not block the
            // partition: store those rows without payloads.
            logger.warning("storing processing errors failed; retrying without payloads", metadata: [LogKey.error: "\(String(reflecting: type(of: error)))"])
            let stripped = errorRows.map { row -> ProcessingError in
                var row = row
                if row.payload != nil { row.reason += " (payload not storable)" }
                row.payload = nil
                return row
            }
            try await database.withTransaction(logger: logger) { connection in
                try await self.dedup.mark(marks, on: connection, logger: self.logger)
                try await self.errors.insert(stripped, on: connection, logger: self.logger)
            }
        }
    }

    /// Runs `body`, retrying with exponential backoff (200 ms doubling) up to the configured
    /// number of attempts; then rethrows.
    private func withRetries<T: Sendable>(_ step: String, _ body: @Sendable () async throws -> T) async throws -> T {
        var delay = Duration.milliseconds(200)
        var attempt = 1
        while true {
            do {
                return try await body()
            } catch {
                guard attempt < configuration.batchAttempts, !Task.isCancelled else { throw error }
                logger.warning(
                    "batch step failed; retrying",
                    metadata: ["step": "\(step)", LogKey.attempt: "\(attempt)", LogKey.error: "\(error)"])
                try await Task.sleep(for: delay)
                delay *= 2
                attempt += 1
            }
        }
    }
}

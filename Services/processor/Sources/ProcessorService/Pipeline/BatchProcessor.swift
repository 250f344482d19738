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
///
/// ``prepare(_:)``, ``produce(_:)`` and ``commit(_:)`` are the steps separately, for
/// ``BatchPipeline``: a later batch may be prepared while earlier ones are produced and
/// committed; ids of batches in flight count as seen (``InFlightMessageIds``).
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
    /// Ids of prepared batches not yet committed (see ``InFlightMessageIds``).
    let inFlight = InFlightMessageIds()

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

    /// Processes `batch` through every step, without pipelining; when it returns, the batch's
    /// effects are durable and its offsets may be stored. Throws after
    /// ``ProcessorConfiguration/batchAttempts`` failed attempts of a step.
    @discardableResult
    public func process(_ batch: [ConsumedMessage]) async throws -> PipelineCounts {
        let prepared = try await prepare(batch)
        try await produce(prepared)
        try await commit(prepared)
        return prepared.output.counts
    }

    /// Steps 1–2: parses, deduplicates (claiming the batch's ids in ``inFlight``) and maps the
    /// batch into the messages to produce. Parsing and mapping run on up to
    /// ``ProcessorConfiguration/mappingConcurrency`` tasks, each on whole partitions, so the
    /// order per key is kept. Every successful `prepare` must be followed by ``commit(_:)`` or
    /// the processor must stop: the batch's ids stay claimed until then.
    public func prepare(_ batch: [ConsumedMessage]) async throws -> PreparedBatch {
        let start = ContinuousClock.now
        let shards = Self.shards(of: batch, count: configuration.mappingConcurrency)

        // 1. Parse, dropping ids repeated within the batch (per partition, so per shard).
        let parsed = await concurrently(shards) { shard in self.parseShard(shard) }
        var output = PipelineOutput()
        output.counts.received = batch.count
        for shard in parsed { output.append(shard.output) }

        // Deduplicate against batches in flight, then against processor.dedup.
        var claimed: [DedupStore.Key] = []
        var drop = Set<DedupStore.Key>()
        if configuration.dedupEnabled {
            let keys = parsed.flatMap { $0.candidates.compactMap(\.key) }
            drop = inFlight.claim(keys)
            claimed = drop.isEmpty ? keys : keys.filter { !drop.contains($0) }
            do {
                let lookup = claimed
                let lookupStart = ContinuousClock.now
                let seen = try await withRetries("dedup lookup") { try await self.dedup.seen(lookup, logger: self.logger) }
                logger.trace(
                    "batch looked up",
                    metadata: ["ids": "\(lookup.count)", "duration": "\(ContinuousClock.now - lookupStart)"])
                if !seen.isEmpty {
                    inFlight.release(seen)
                    claimed.removeAll { seen.contains($0) }
                    drop.formUnion(seen)
                }
            } catch {
                inFlight.release(claimed)
                throw error
            }
        }

        // 2. Timestamps and stages 3–4, per shard.
        let table = routing.current()
        let duplicates = drop
        let mapped = await concurrently(parsed) { shard in
            var output = PipelineOutput()
            var inputs: [InputEvent] = []
            inputs.reserveCapacity(shard.candidates.count)
            for var candidate in shard.candidates {
                if !duplicates.isEmpty, let key = candidate.key, duplicates.contains(key) {
                    output.counts.duplicates += 1
                    continue
                }
                TimestampCorrection.apply(to: &candidate.input)
                inputs.append(candidate.input)
            }
            await self.pipeline.run(inputs, routing: table, into: &output)
            return output
        }
        for shard in mapped { output.append(shard) }
        logger.trace("batch prepared", metadata: ["events": "\(batch.count)", "duration": "\(ContinuousClock.now - start)"])
        return PreparedBatch(messages: batch, output: output, marks: claimed, start: start)
    }

    /// Step 3: produces the batch's messages and waits for every acknowledgement.
    public func produce(_ prepared: PreparedBatch) async throws {
        let messages = prepared.output.messages
        if !messages.isEmpty {
            let start = ContinuousClock.now
            try await withRetries("produce") { try await self.producer.send(messages) }
            logger.trace("batch produced", metadata: ["messages": "\(messages.count)", "duration": "\(ContinuousClock.now - start)"])
        }
    }

    /// Step 4, after ``produce(_:)`` succeeded: marks the batch's ids and records its errors in
    /// one transaction, then releases its claimed ids. The caller then stores the offsets.
    public func commit(_ prepared: PreparedBatch) async throws {
        var errorRows = prepared.output.errors
        if errorRows.count > configuration.maxErrorRowsPerBatch {
            logger.warning(
                "too many processing errors in one batch; extra rows not stored",
                metadata: ["stored": "\(configuration.maxErrorRowsPerBatch)", "dropped": "\(errorRows.count - configuration.maxErrorRowsPerBatch)"])
            errorRows.removeLast(errorRows.count - configuration.maxErrorRowsPerBatch)
        }
        let toMark = prepared.marks
        let rows = errorRows
        if !toMark.isEmpty || !rows.isEmpty {
            let start = ContinuousClock.now
            try await withRetries("record") { try await self.record(marks: toMark, errors: rows) }
            logger.trace("batch recorded", metadata: ["marks": "\(toMark.count)", "duration": "\(ContinuousClock.now - start)"])
        }
        inFlight.release(toMark)
        for error in prepared.output.errors.prefix(10) {
            logger.debug(
                "processing error",
                metadata: [
                    "stage": "\(error.stage.rawValue)", LogKey.destination: "\(error.destinationId ?? "")",
                    LogKey.messageId: "\(error.messageId ?? "")", LogKey.error: "\(error.reason)",
                ])
        }
        metrics.record(prepared.output.counts, duration: ContinuousClock.now - prepared.start)
    }

    /// A parsed shard: events that passed parsing and in-batch dedup, in input order.
    struct ParsedShard: Sendable {
        var candidates: [(input: InputEvent, key: DedupStore.Key?)] = []
        var output = PipelineOutput()
    }

    private func parseShard(_ messages: [ConsumedMessage]) -> ParsedShard {
        var shard = ParsedShard()
        shard.candidates.reserveCapacity(messages.count)
        var inBatch = Set<DedupStore.Key>()
        for message in messages {
            guard let (input, key) = parse(message, into: &shard.output) else { continue }
            if let key, !inBatch.insert(key).inserted {
                shard.output.counts.duplicates += 1
                continue
            }
            shard.candidates.append((input, key))
        }
        return shard
    }

    /// Splits `batch` into at most `count` shards of whole partitions, keeping each partition's
    /// messages in order.
    static func shards(of batch: [ConsumedMessage], count: Int) -> [[ConsumedMessage]] {
        guard count > 1 else { return [batch] }
        var shards = [[ConsumedMessage]](repeating: [], count: count)
        for message in batch {
            shards[Int(UInt32(bitPattern: message.partition) % UInt32(count))].append(message)
        }
        return shards.filter { !$0.isEmpty }
    }

    /// Runs `body` on each element concurrently (the first on the calling task); results in order.
    private func concurrently<Element: Sendable, Output: Sendable>(
        _ elements: [Element], _ body: @escaping @Sendable (Element) async -> Output
    ) async -> [Output] {
        guard elements.count > 1 else { return await elements.asyncMap(body) }
        return await withTaskGroup(of: (Int, Output).self) { group in
            for index in elements.indices.dropFirst() {
                let element = elements[index]
                group.addTask { (index, await body(element)) }
            }
            var results = [Output?](repeating: nil, count: elements.count)
            results[0] = await body(elements[0])
            for await (index, result) in group { results[index] = result }
            return results.map { $0! }
        }
    }

    private func parse(_ message: ConsumedMessage, into output: inout PipelineOutput) -> (InputEvent, DedupStore.Key?)? {
        let record: IngestRecord
        let eventText: JSONText?
        do {
            (record, eventText) = try IngestRecord.parsingKeepingEventText(message.value)
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
            event: record.event, eventText: eventText)
        let key = messageId.isEmpty ? nil : DedupStore.Key(partition: message.partition, messageId: messageId)
        return (input, key)
    }

    /// The marks go in with a plain insert: the lookup found none of them in the window. One
    /// can still be in the table (past the window but not pruned yet, or marked meanwhile by a
    /// replica that held the partition before a rebalance); then the transaction is written
    /// again with an upsert.
    private func record(marks: [DedupStore.Key], errors errorRows: [ProcessingError]) async throws {
        do {
            try await record(marks: marks, mode: .insert, errors: errorRows)
        } catch where DedupStore.isMarkConflict(error) {
            logger.debug("a dedup mark was already in the table; writing the batch's marks again as an upsert")
            metrics.markRewrites.increment()
            try await record(marks: marks, mode: .upsert, errors: errorRows)
        }
    }

    private func record(marks: [DedupStore.Key], mode: DedupStore.MarkMode, errors errorRows: [ProcessingError]) async throws {
        do {
            try await database.withTransaction(logger: logger) { connection in
                try await self.dedup.mark(marks, mode: mode, on: connection, logger: self.logger)
                try await self.errors.insert(errorRows, on: connection, logger: self.logger)
            }
        } catch where !DedupStore.isMarkConflict(error) && errorRows.contains(where: { $0.payload != nil }) {
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
                try await self.dedup.mark(marks, mode: mode, on: connection, logger: self.logger)
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

/// A batch after ``BatchProcessor/prepare(_:)``: what to produce, mark and record.
public struct PreparedBatch: Sendable {
    /// The consumed messages (their offsets are stored after commit).
    public let messages: [ConsumedMessage]
    public let output: PipelineOutput
    /// The dedup keys this batch claimed and marks on commit.
    let marks: [DedupStore.Key]
    let start: ContinuousClock.Instant
}

extension Array where Element: Sendable {
    fileprivate func asyncMap<Output>(_ body: (Element) async -> Output) async -> [Output] {
        var results: [Output] = []
        results.reserveCapacity(count)
        for element in self { results.append(await body(element)) }
        return results
    }
}

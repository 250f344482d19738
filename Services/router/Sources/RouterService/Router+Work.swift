import Logging

extension Router {
    /// Turns scheduler actions into work (run as child tasks of ``run()``).
    func handle(_ actions: [DeliveryScheduler.Action]) {
        var sends: [ScheduledJob] = []
        defer {
            if !sends.isEmpty {
                inFlight.add(sends.count, ordering: .relaxed)
                workContinuation.yield(.send(sends))
            }
        }
        for action in actions {
            switch action {
            case .send(let job):
                sends.append(job)
            case .sendBatch(let jobs):
                inFlight.add(1, ordering: .relaxed)
                workContinuation.yield(.sendBatch(jobs))
            case .recordFailure(let job, let failure):
                workContinuation.yield(.recordFailure(job, failure))
            case .retryScheduled(let job, let failure, let delay):
                metrics.delivery(job.job, outcome: "retried")
                logger.debug(
                    "delivery will be retried",
                    metadata: [
                        "destination": "\(job.job.destinationId)", "messageId": "\(job.job.messageId)", "attempt": "\(job.attempts)",
                        "reason": "\(failure.reason)", "delay_ms": "\(Int64(delay.seconds * 1000))",
                    ])
            case .startParkWriter:
                workContinuation.yield(.parkWriter)
            case .loadParked(let key, let afterSeq, let limit):
                workContinuation.yield(.load(key, afterSeq: afterSeq, limit: limit))
            case .armTimer(let instant):
                workContinuation.yield(.timer(instant))
            }
        }
    }

    func perform(_ item: Work) async {
        switch item {
        case .send(let jobs):
            for job in jobs { await send(job) }
        case .sendBatch(let jobs):
            await sendBatch(jobs)
        case .recordFailure(let job, let failure):
            await recordFailure(job, failure)
        case .parkWriter:
            await writeParked()
        case .load(let key, let afterSeq, let limit):
            await load(key, afterSeq: afterSeq, limit: limit)
        case .timer(let instant):
            try? await Task.sleep(until: instant, clock: .continuous)
            let actions = scheduler.withLock { $0.tick(now: .now) }
            handle(actions)
        }
    }

    func send(_ job: ScheduledJob) async {
        let result = await deliverer.deliver(job, timeout: job.timeout)
        let destinationMetrics = metrics.destination(job.job)
        switch result {
        case .delivered(let status):
            destinationMetrics.delivered(status: status, receivedAtMillis: job.job.receivedAtMillis, nowMillis: unixMillis())
            parkedJobDelivered(job)
        case .failed(let failure):
            destinationMetrics.attempt(status: failure.statusCode.map { "\($0)" } ?? failure.kind.rawValue)
        }
        // Jitter only matters for a retry; a random number costs a getrandom(2) call on Linux.
        let jitter: Double
        if case .delivered = result { jitter = 0 } else { jitter = Double.random(in: 0...1) }
        let actions = scheduler.withLock { $0.completed(job, result: result, now: .now, jitter: jitter) }
        inFlight.add(-1, ordering: .relaxed)
        handle(actions)
        signalRoomIfWaiting()
    }

    private func recordFailure(_ job: ScheduledJob, _ failure: DeliveryFailure) async {
        let firstAttemptMillis = job.firstAttemptAt.map { unixMillis() - Int64((ContinuousClock.now - $0).seconds * 1000) }
        guard await retrying("record failed event", { try await self.store.recordFailure(job, failure, firstAttemptMillis: firstAttemptMillis) })
        else { return }
        metrics.delivery(job.job, outcome: failure.retryable ? "failed" : "aborted")
        metrics.counter("keel_router_failed_events_total", [("destination_id", job.job.destinationId)]).increment()
        logger.warning(
            "delivery failed finally",
            metadata: [
                "destination": "\(job.job.destinationId)", "messageId": "\(job.job.messageId)", "attempts": "\(job.attempts)",
                "reason": "\(failure.reason)",
            ])
        let actions: [DeliveryScheduler.Action] = scheduler.withLock { scheduler in
            if failure.kind == .invalidJob && job.attempts == 0 {
                scheduler.invalidRecorded(job)
                return []
            }
            return scheduler.failureRecorded(job, now: .now)
        }
        handle(actions)
        signalRoomIfWaiting()
    }

    /// A delivered job loaded from the parked table: its row is deleted with the next batch
    /// (``deleteDeliveredParked()``). Loads of the key read after the last loaded seq, so the row
    /// is not read again meanwhile. After a crash before the delete it is sent again (same
    /// messageId), like a delivered Kafka job whose offset was not stored yet.
    func parkedJobDelivered(_ job: ScheduledJob) {
        guard case .parked(let seq, _) = job.origin else { return }
        metrics.counter("keel_router_unparked_total", []).increment()
        pendingParkedDeletes.withLock { $0.append((seq, job.key)) }
    }

    /// Deletes the parked rows of delivered jobs, in one statement. Called every offset interval
    /// and at shutdown.
    func deleteDeliveredParked() async {
        let rows = pendingParkedDeletes.withLock { pending in
            defer { pending.removeAll(keepingCapacity: true) }
            return pending
        }
        guard !rows.isEmpty else { return }
        if await retrying("delete delivered parked jobs", { try await self.store.deleteParked(seqs: rows.map(\.seq)) }) {
            scheduler.withLock { $0.parkedRowsDeleted(rows.map(\.key)) }
        } else {
            // Cancelled: keep them for the shutdown attempt (or for the next run to send again).
            pendingParkedDeletes.withLock { $0.insert(contentsOf: rows, at: 0) }
        }
    }

    /// The one park writer: writes the outbox in order until it is empty.
    private func writeParked() async {
        while true {
            let batch = scheduler.withLock { $0.takeParkBatch() }
            if batch.isEmpty { return }
            guard await retrying("park jobs", { try await self.store.park(batch) }) else { return }
            metrics.counter("keel_router_parked_total", []).increment(by: batch.count)
            let actions = scheduler.withLock { $0.parkWritten(batch, now: .now) }
            handle(actions)
            signalRoomIfWaiting()
        }
    }

    private func load(_ key: DeliveryKey, afterSeq: Int64, limit: Int) async {
        var rows: [ParkedRow] = []
        var dropped = 0
        guard await retrying("load parked jobs", { (rows, dropped) = try await self.store.loadParked(key, afterSeq: afterSeq, limit: limit) })
        else { return }
        let tickets = rows.map { batching.ticket(for: $0.job) }
        let actions = scheduler.withLock { $0.loadedParked(key, rows: rows, dropped: dropped, now: .now, batches: tickets) }
        handle(actions)
    }

    /// Runs a Postgres (or Kafka metadata) operation until it succeeds, backing off up to 5 s
    /// between tries. A router without its database cannot make progress safely; it waits rather
    /// than dropping work. Gives up only when `keepGoing` turns false (by default: the task is
    /// cancelled, at shutdown), answering `false`: the caller must then not report the work as
    /// done, so it is redone by the next run.
    func retrying(
        _ what: String, while keepGoing: () -> Bool = { !Task.isCancelled }, _ body: () async throws -> Void
    ) async -> Bool {
        var delay: Duration = .milliseconds(100)
        while true {
            do {
                try await body()
                return true
            } catch {
                if !keepGoing() { return false }
                // The description of postgres-nio's errors carries no query or bound values.
                logger.error("operation failed; retrying", metadata: ["operation": "\(what)", "error": "\(safeErrorDescription(error))"])
                try? await Task.sleep(for: delay)
                delay = min(delay * 2, .seconds(5))
            }
        }
    }
}

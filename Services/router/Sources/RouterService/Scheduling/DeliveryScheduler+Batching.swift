import struct Destinations.BatchGroup

/// Batching in the scheduler: ready heads with a batch ticket join their destination's open batch
/// of their group; a batch closes when it is full (items, bytes, or a repeated unique id) or when
/// its window has passed since its first job, and leaves as one request when the destination has
/// a concurrency slot and a token. Jobs in a batch are their keys' heads in phase `.inFlight`, so
/// a key never has two jobs in one batch and a key in backoff has none: order per key holds as for
/// single sends. Memory: at most one open batch per group and the closed batches waiting for a
/// slot, all of jobs already counted in memory; the scheduler stops taking ready heads while a
/// closed batch waits.
extension DeliveryScheduler {
    /// Adds a head (its attempt already counted) to the open batch of its group.
    mutating func addToBatch(_ job: ScheduledJob, _ destination: inout DestinationState, now: ContinuousClock.Instant) {
        guard let ticket = job.batch else { return }
        let group = ticket.group
        let maxItems = max(1, min(group.maxItems, destination.policy.batchMaxEvents ?? group.maxItems))
        var open = destination.openBatches.removeValue(forKey: group) ?? OpenBatch(deadline: now + destination.policy.batchWindow)
        let repeated = ticket.entry.uniqueId.map { open.uniqueIds.contains($0) } ?? false
        if !open.jobs.isEmpty && (open.items + ticket.items > maxItems || open.bytes + ticket.bytes > group.maxBytes || repeated) {
            destination.closedBatches.append(open.jobs)
            open = OpenBatch(deadline: now + destination.policy.batchWindow)
        }
        open.jobs.append(job)
        open.items += ticket.items
        open.bytes += ticket.bytes
        if let id = ticket.entry.uniqueId { open.uniqueIds.insert(id) }
        if open.items >= maxItems {
            destination.closedBatches.append(open.jobs)
        } else {
            destination.openBatches[group] = open
        }
    }

    /// Closes the open batches whose window has passed, earliest first.
    mutating func closeDueBatches(_ destination: inout DestinationState, now: ContinuousClock.Instant) {
        guard !destination.openBatches.isEmpty else { return }
        let due = destination.openBatches.filter { $0.value.deadline <= now }.sorted { $0.value.deadline < $1.value.deadline }
        for (group, open) in due {
            destination.openBatches[group] = nil
            destination.closedBatches.append(open.jobs)
        }
    }

    /// Sends closed batches while the destination has slots and tokens. False when one is still
    /// waiting (the caller then takes no more ready heads).
    mutating func emitClosedBatches(
        _ destination: inout DestinationState, _ destinationId: String, now: ContinuousClock.Instant, into actions: inout [Action]
    ) -> Bool {
        while let jobs = destination.closedBatches.first {
            guard destination.inFlight < destination.policy.maxConcurrency, takeToken(&destination, destinationId, now: now) else { return false }
            _ = destination.closedBatches.popFirst()
            destination.inFlight += 1
            if destination.rateWindowStart == nil { destination.rateWindowStart = now }
            // A batch of one is the job's own request, exactly as without batching.
            actions.append(jobs.count == 1 ? .send(jobs[0]) : .sendBatch(jobs))
        }
        return true
    }

    /// Arms the window timer for the earliest open batch, unless one is armed at or before it.
    mutating func armBatchTimer(_ destination: inout DestinationState, _ destinationId: String) {
        guard let earliest = destination.openBatches.values.map(\.deadline).min() else { return }
        if let armed = destination.batchTimer, armed <= earliest { return }
        destination.batchTimer = earliest
        timers.push(earliest, .batchWindow(destinationId))
    }

    /// Jobs in open batches of a destination (for tests).
    public func jobsInOpenBatches(destinationId: String) -> Int {
        destinations[destinationId]?.openBatches.values.reduce(0) { $0 + $1.jobs.count } ?? 0
    }
}

extension DeliveryScheduler.DestinationState {
    var hasBatches: Bool { !openBatches.isEmpty || !closedBatches.isEmpty }
}

import struct Destinations.BatchGroup

/// The router's delivery state machine: which job to send next, which to hold, which to park.
///
/// Pure and synchronous (STYLE habit 4): the ``Router`` calls it under one lock and performs the
/// returned ``Action``s (HTTP, Postgres, timers) outside. It guarantees:
///
/// - **Order per (destination, user)**: a ``DeliveryKey`` has at most one job in flight; the next
///   job of that key is released only when the head is delivered or its final failure recorded.
/// - **Isolation**: each destination has its own concurrency limit, token bucket and backoff;
///   a key in backoff blocks only itself, a `Retry-After` on 429/503 pauses only its destination.
/// - **Bounded memory**: at most `maxQueuedPerKey` jobs per key and `maxQueuedPerDestination` per
///   destination stay in memory; beyond that new jobs are parked (written to Postgres in consumption
///   order, after which their offsets count as done) and loaded back, in order, when the key's
///   in-memory queue runs empty and its destination has room.
/// - **Offsets**: a Kafka offset is done when its job is delivered, finally failed (recorded) or
///   parked; ``takeStorableOffsets()`` gives per partition the end of the contiguous done prefix.
public struct DeliveryScheduler: Sendable {
    /// Memory bounds.
    public struct Limits: Sendable, Hashable {
        /// Jobs of one key held in memory (head included) before later ones are parked. Default 50.
        public var maxQueuedPerKey: Int
        /// Jobs of one destination held in memory before later ones are parked, if the destination
        /// is not draining them (see `maxBacklogDrain`). Default 10,000; keep it
        /// well under the router's `maxJobsInMemory` so one blocked destination cannot stall the consumer.
        /// Parking stops once the destination is back under half of it.
        public var maxQueuedPerDestination: Int
        /// Parked jobs loaded back at once for one key. Default 100.
        public var parkedLoadBatch: Int
        /// Jobs written to the parked table in one insert. Default 500.
        public var parkWriteBatch: Int
        /// A destination over `maxQueuedPerDestination` is parked only when, at its current rate of
        /// finished jobs, its backlog would take longer than this to drain: a healthy destination
        /// working through a backlog keeps it in memory (the consumer's own bound still holds), a
        /// blocked or slow one is parked. Default 30 s.
        public var maxBacklogDrain: Duration

        public init(
            maxQueuedPerKey: Int = 50, maxQueuedPerDestination: Int = 10_000, parkedLoadBatch: Int = 100, parkWriteBatch: Int = 500,
            maxBacklogDrain: Duration = .seconds(30)
        ) {
            self.maxQueuedPerKey = max(1, maxQueuedPerKey)
            self.maxQueuedPerDestination = max(2, maxQueuedPerDestination)
            self.parkedLoadBatch = max(1, parkedLoadBatch)
            self.parkWriteBatch = max(1, parkWriteBatch)
            self.maxBacklogDrain = max(.zero, maxBacklogDrain)
        }
    }

    /// Work for the caller, to be done outside the lock.
    public enum Action: Sendable {
        /// Send the job's requests from `nextRequest` on, each with the job's `timeout` (the
        /// destination's policy), then call ``completed(_:result:now:jitter:)``. When a job loaded
        /// from the parked table (origin `.parked`) is delivered, its row must be deleted (it may be
        /// batched: later loads of the key read after the last loaded seq, so it is not read again).
        case send(ScheduledJob)
        /// Send these jobs (two or more, of one destination and batch group, at most one per key,
        /// in the order they became ready) as one batch request (their ``ScheduledJob/batch``
        /// tickets), then call ``completedBatch(_:results:now:jitter:)`` with one result per job.
        case sendBatch([ScheduledJob])
        /// The job finally failed: write it to failed events (deleting its parked row if it has one,
        /// in the same transaction), then call ``failureRecorded(_:)``.
        case recordFailure(ScheduledJob, DeliveryFailure)
        /// A retry was scheduled (for metrics and logs; nothing to do).
        case retryScheduled(ScheduledJob, DeliveryFailure, after: Duration)
        /// Jobs are waiting to be parked: run the park writer (``takeParkBatch()`` until empty).
        case startParkWriter
        /// Load up to `limit` parked rows of the key with `seq > afterSeq`, in seq order, then call
        /// ``loadedParked(_:rows:)``.
        case loadParked(DeliveryKey, afterSeq: Int64, limit: Int)
        /// Call ``tick(now:)`` at this instant (earlier than any timer armed before).
        case armTimer(ContinuousClock.Instant)
    }

    enum Phase: Equatable, Sendable {
        /// Nothing in flight and nothing ready (queue empty, or waiting for a parked load).
        case idle
        /// The head is in its destination's ready queue.
        case ready
        case inFlight
        case backoff(until: ContinuousClock.Instant)
        /// The head finally failed and is being recorded.
        case recordingFailure
    }

    struct KeyState: Sendable {
        var queue = FIFO<ScheduledJob>()
        var phase = Phase.idle
        /// Parked rows of this key not yet loaded back (written or still waiting to be written).
        var parkedRows = 0
        /// Rows of this key in the parked table (written, or found there) and not yet deleted,
        /// loaded or not. While there are any, the key's new jobs park behind them, so that a key's
        /// rows from Kafka are always every one of its jobs from the first row on (which lets a
        /// later owner recognise the jobs it reads again; DeliveryScheduler+Handover.swift).
        var rowsInTable = 0
        /// Of `parkedRows`, those still in the park outbox.
        var unwrittenParked = 0
        var lastLoadedSeq: Int64 = 0
        var loading = false
        var awaitingLoad = false
        /// Set while the key's parked rows were written by an earlier owner of their partition,
        /// which is read again from before their last offset (DeliveryScheduler+Handover.swift).
        var hold: ParkedHold?

        var isRemovable: Bool {
            queue.isEmpty && parkedRows == 0 && rowsInTable == 0 && !loading && phase == .idle && !awaitingLoad && hold == nil
        }
    }

    struct DestinationState: Sendable {
        var policy: DeliveryPolicy
        var inFlight = 0
        /// Jobs in memory (queued or in flight) across the destination's keys.
        var queued = 0
        var ready = FIFO<DeliveryKey>()
        /// Keys with parked rows waiting for room to load them.
        var awaitingLoad = FIFO<DeliveryKey>()
        var tokens: Double
        var lastRefill: ContinuousClock.Instant?
        /// Set by a `Retry-After` on 429/503: nothing is sent before it.
        var notBefore: ContinuousClock.Instant?
        var timerArmed = false
        var parking = false
        /// Jobs finished (delivered or failure recorded) since `rateWindowStart`, which is set by the
        /// first send and moved on by a finish at least a second after it.
        var finishedInWindow = 0
        var rateWindowStart: ContinuousClock.Instant?
        /// Finished jobs per second over the last full window.
        var lastWindowRate: Double?
        /// Batches being filled, per group (jobs are heads of their keys, phase `.inFlight`).
        var openBatches: [BatchGroup: OpenBatch] = [:]
        /// Batches full or past their window, waiting for a concurrency slot or a token.
        var closedBatches = FIFO<[ScheduledJob]>()
        /// The batch window timer armed for this destination, if any.
        var batchTimer: ContinuousClock.Instant?

        init(policy: DeliveryPolicy) {
            self.policy = policy
            self.tokens = policy.requestsPerSecond.map { max(1, $0) } ?? 0
        }

        mutating func recordFinish(now: ContinuousClock.Instant) {
            guard let start = rateWindowStart else {
                rateWindowStart = now
                finishedInWindow = 1
                return
            }
            finishedInWindow += 1
            let elapsed = (now - start).seconds
            if elapsed >= 1 {
                lastWindowRate = Double(finishedInWindow) / elapsed
                rateWindowStart = now
                finishedInWindow = 0
            }
        }

        /// Finished jobs per second: the current window (at least 100 ms counted), or the last full
        /// window when the current one is younger than a second and slower. Zero before any send.
        func finishRate(now: ContinuousClock.Instant) -> Double {
            guard let start = rateWindowStart else { return 0 }
            let elapsed = (now - start).seconds
            let current = Double(finishedInWindow) / max(elapsed, 0.1)
            return elapsed >= 1 ? current : max(current, lastWindowRate ?? 0)
        }
    }

    enum TimerTarget: Sendable {
        case key(DeliveryKey)
        case destination(String)
        /// A destination's open batch reaches the end of its window.
        case batchWindow(String)
    }

    /// A batch being filled.
    struct OpenBatch: Sendable {
        var jobs: [ScheduledJob] = []
        var items = 0
        var bytes = 0
        var uniqueIds: Set<String> = []
        var deadline: ContinuousClock.Instant
    }

    public let limits: Limits
    var keys: [DeliveryKey: KeyState] = [:]
    var destinations: [String: DestinationState] = [:]
    var offsets: [PartitionRef: PartitionOffsetTracker] = [:]
    /// Per partition, the keys whose parked rows wait for it to be read past their offsets.
    var holds: [PartitionRef: PartitionHolds] = [:]
    private var changedPartitions: Set<PartitionRef> = []
    private var parkOutbox = FIFO<ScheduledJob>()
    private var parkWriterRunning = false
    var timers = TimerHeap<TimerTarget>()
    private var armedTimer: ContinuousClock.Instant?
    /// The partitions whose jobs are taken; `nil` takes every partition's. A router sets it from
    /// its assignment, so a job read just before its partition was revoked is left to the next owner.
    public var acceptedPartitions: Set<PartitionRef>?

    public init(limits: Limits = Limits()) {
        self.limits = limits
    }

    // MARK: Observation

    /// Jobs held in memory: queued, in flight, or waiting to be parked. The consumer stops
    /// polling while this is over its bound.
    public var jobsInMemory: Int { destinations.values.reduce(0) { $0 + $1.queued } + parkOutbox.count }

    /// Parked rows of delivered jobs were deleted (one key per row).
    public mutating func parkedRowsDeleted(_ deleted: [DeliveryKey]) {
        for key in deleted {
            guard var state = keys.removeValue(forKey: key) else { continue }
            state.rowsInTable = max(0, state.rowsInTable - 1)
            if !state.isRemovable { keys[key] = state }
        }
    }

    /// Jobs read again after a restart or rebalance and dropped because their parked row is sent
    /// instead (DeliveryScheduler+Handover.swift); only grows.
    public private(set) var copiesOfParkedDropped = 0

    /// Whether jobs are waiting to be parked or being written.
    public var isParking: Bool { parkWriterRunning || !parkOutbox.isEmpty }

    public func inFlight(destinationId: String) -> Int { destinations[destinationId]?.inFlight ?? 0 }
    public func queued(destinationId: String) -> Int { destinations[destinationId]?.queued ?? 0 }
    public func parkedRows(of key: DeliveryKey) -> Int { keys[key]?.parkedRows ?? 0 }
    public var trackedKeys: Int { keys.count }

    /// Per destination: requests in flight and jobs in memory (for gauges).
    public var destinationStats: [(destinationId: String, inFlight: Int, queued: Int)] {
        destinations.map { ($0.key, $0.value.inFlight, $0.value.queued) }
    }

    /// Parked rows this scheduler knows of, over all keys. O(keys): call it seldom.
    public var totalParkedRows: Int { keys.values.reduce(0) { $0 + $1.parkedRows } }

    /// Offsets consumed and not yet storable, per partition (for tests and metrics).
    public func pendingOffsets(_ partition: PartitionRef) -> Int { offsets[partition]?.pendingCount ?? 0 }

    // MARK: Input

    /// Replaces a destination's policy (config reload). Takes effect for the next decisions.
    public mutating func updatePolicy(_ policy: DeliveryPolicy, destinationId: String) {
        guard destinations[destinationId] != nil else { return }
        destinations[destinationId]!.policy = policy
    }

    /// A job consumed from Kafka, with its batch ticket when it may join a batch request.
    public mutating func enqueue(
        _ job: DeliveryJob, from partition: PartitionRef, offset: Int64, policy: DeliveryPolicy, now: ContinuousClock.Instant, batch: BatchTicket? = nil
    ) -> [Action] {
        guard acceptedPartitions?.contains(partition) ?? true else { return [] }
        guard offsets[partition, default: PartitionOffsetTracker()].track(offset) else { return [] }
        var actions: [Action] = []
        let key = job.key
        var ahead = false
        // Holds exist only for a while after parked rows were taken over (never in steady state).
        if !holds.isEmpty {
            if holds[partition] != nil { releaseHolds(partition, readAt: offset, into: &actions) }
            switch keys[key]?.hold?.place(partition, offset) {
            case .parked?:
                // Read again after a restart or a rebalance: its parked row is delivered instead.
                markDone(partition, offset)
                copiesOfParkedDropped += 1
                return actions
            case .ahead?: ahead = true
            case .after?, nil: break
            }
        }
        let scheduled = ScheduledJob(job: job, origin: .kafka(partition, offset: offset), batch: batch)
        let destinationId = key.destinationId
        if destinations[destinationId] == nil { destinations[destinationId] = DestinationState(policy: policy) }
        var keyState = keys.removeValue(forKey: key) ?? KeyState()

        // A job ahead of the key's parked rows goes before them, so it is never parked.
        var park = !ahead && (keyState.parkedRows > 0 || keyState.rowsInTable > 0 || keyState.loading
            || keyState.queue.count >= limits.maxQueuedPerKey || destinations[destinationId]!.parking)
        if !park && !ahead && destinations[destinationId]!.queued >= limits.maxQueuedPerDestination && !isDraining(destinationId, now: now) {
            destinations[destinationId]!.parking = true
            park = true
        }
        if park {
            keyState.parkedRows += 1
            keyState.unwrittenParked += 1
            parkOutbox.append(scheduled)
            if !parkWriterRunning {
                parkWriterRunning = true
                actions.append(.startParkWriter)
            }
            keys[key] = keyState
            return actions
        }
        keyState.queue.append(scheduled)
        destinations[destinationId]!.queued += 1
        let becameReady = keyState.phase == .idle
        if becameReady {
            keyState.phase = .ready
            destinations[destinationId]!.ready.append(key)
        }
        keys[key] = keyState
        if becameReady { pump(destinationId, now: now, into: &actions) }
        armTimerIfNeeded(into: &actions)
        return actions
    }

    /// Parked rows that this scheduler did not write: found at startup, or inserted by a replay.
    /// They are loaded after the key's jobs already in memory.
    public mutating func addExternalParked(_ key: DeliveryKey, count: Int, policy: DeliveryPolicy) -> [Action] {
        guard count > 0 else { return [] }
        if destinations[key.destinationId] == nil { destinations[key.destinationId] = DestinationState(policy: policy) }
        keys[key, default: KeyState()].parkedRows += count
        keys[key]!.rowsInTable += count
        var actions: [Action] = []
        requestLoadIfNeeded(key, into: &actions)
        return actions
    }

    /// The outcome of a `.send`.
    public mutating func completed(_ sent: ScheduledJob, result: AttemptResult, now: ContinuousClock.Instant, jitter: Double) -> [Action] {
        let key = sent.key
        let destinationId = key.destinationId
        guard keys[key]?.phase == .inFlight, keys[key]?.queue.peek({ $0.origin == sent.origin }) == true else { return [] }
        var actions: [Action] = []
        destinations[destinationId]!.inFlight -= 1
        settle(sent, result: result, now: now, jitter: jitter, into: &actions)
        pump(destinationId, now: now, into: &actions)
        armTimerIfNeeded(into: &actions)
        return actions
    }

    /// The outcome of a `.sendBatch`: one result per job, in the order sent. The request counted
    /// once against the destination's concurrency; each job then moves on as after a `.send`.
    public mutating func completedBatch(_ sent: [ScheduledJob], results: [AttemptResult], now: ContinuousClock.Instant, jitter: Double) -> [Action] {
        guard let destinationId = sent.first?.key.destinationId, destinations[destinationId] != nil else { return [] }
        var actions: [Action] = []
        destinations[destinationId]!.inFlight -= 1
        for (job, result) in zip(sent, results) {
            guard keys[job.key]?.phase == .inFlight, keys[job.key]?.queue.peek({ $0.origin == job.origin }) == true else { continue }
            settle(job, result: result, now: now, jitter: jitter, into: &actions)
        }
        pump(destinationId, now: now, into: &actions)
        armTimerIfNeeded(into: &actions)
        return actions
    }

    /// Moves a key on after its head's attempt: delivered, retry later, or record the failure.
    private mutating func settle(_ sent: ScheduledJob, result: AttemptResult, now: ContinuousClock.Instant, jitter: Double, into actions: inout [Action]) {
        let key = sent.key
        let destinationId = key.destinationId
        switch result {
        case .delivered:
            finishHead(key, recorded: false, now: now, into: &actions)
        case .failed(let failure):
            // Take the key's state out of the table so that its queue is mutated in place (no copy).
            var keyState = keys.removeValue(forKey: key)!
            let head = keyState.queue.updateFirst { head in
                head.attempts = sent.attempts
                head.firstAttemptAt = sent.firstAttemptAt
                head.nextRequest = min(max(head.nextRequest, failure.completedRequests), head.job.requests.count)
                return head
            }
            let policy = destinations[destinationId]!.policy
            let delay = policy.backoff(afterAttempt: head.attempts, jitter: jitter, retryAfter: failure.retryAfter)
            let elapsed = head.firstAttemptAt.map { now - $0 } ?? .zero
            let exhausted = head.attempts >= policy.maxAttempts || elapsed + delay > policy.maxRetryDuration
            if !failure.retryable || exhausted {
                keyState.phase = .recordingFailure
                keys[key] = keyState
                actions.append(.recordFailure(head, failure))
            } else {
                let until = now + delay
                keyState.phase = .backoff(until: until)
                keys[key] = keyState
                timers.push(until, .key(key))
                if let retryAfter = failure.retryAfter, failure.statusCode == 429 || failure.statusCode == 503 {
                    let pause = now + retryAfter
                    if destinations[destinationId]!.notBefore.map({ pause > $0 }) ?? true {
                        destinations[destinationId]!.notBefore = pause
                    }
                }
                actions.append(.retryScheduled(head, failure, after: delay))
            }
        }
    }

    /// A consumed message that is not a delivery job: its offset waits until the caller recorded
    /// it as failed (``invalidRecorded(_:)``).
    public mutating func enqueueInvalid(_ job: DeliveryJob, from partition: PartitionRef, offset: Int64, reason: String) -> [Action] {
        guard acceptedPartitions?.contains(partition) ?? true else { return [] }
        guard offsets[partition, default: PartitionOffsetTracker()].track(offset) else { return [] }
        let failure = DeliveryFailure(kind: .invalidJob, reason: "invalid delivery job: \(reason)", retryable: false)
        return [.recordFailure(ScheduledJob(job: job, origin: .kafka(partition, offset: offset)), failure)]
    }

    /// The failure of an ``enqueueInvalid(_:from:offset:reason:)`` job is recorded.
    public mutating func invalidRecorded(_ job: ScheduledJob) {
        if case .kafka(let partition, let offset) = job.origin { markDone(partition, offset) }
    }

    /// The final failure of a `.recordFailure` is durable.
    public mutating func failureRecorded(_ job: ScheduledJob, now: ContinuousClock.Instant) -> [Action] {
        guard keys[job.key]?.phase == .recordingFailure, keys[job.key]?.queue.peek({ $0.origin == job.origin }) == true else { return [] }
        var actions: [Action] = []
        // The failed event's transaction deleted the job's parked row.
        if case .parked = job.origin { keys[job.key]!.rowsInTable = max(0, keys[job.key]!.rowsInTable - 1) }
        finishHead(job.key, recorded: true, now: now, into: &actions)
        pump(job.key.destinationId, now: now, into: &actions)
        armTimerIfNeeded(into: &actions)
        return actions
    }

    /// Timers due at `now`: keys whose backoff ended, destinations with tokens again.
    public mutating func tick(now: ContinuousClock.Instant) -> [Action] {
        var actions: [Action] = []
        armedTimer = nil
        var touched: Set<String> = []
        while let target = timers.popDue(now: now) {
            switch target {
            case .key(let key):
                guard let phase = keys[key]?.phase, case .backoff(let until) = phase, until <= now else { continue }
                keys[key]!.phase = .ready
                destinations[key.destinationId]!.ready.append(key)
                touched.insert(key.destinationId)
            case .destination(let id):
                guard destinations[id] != nil else { continue }
                destinations[id]!.timerArmed = false
                touched.insert(id)
            case .batchWindow(let id):
                guard destinations[id] != nil else { continue }
                if let armed = destinations[id]!.batchTimer, armed <= now { destinations[id]!.batchTimer = nil }
                touched.insert(id)
            }
        }
        for id in touched { pump(id, now: now, into: &actions) }
        armTimerIfNeeded(into: &actions)
        return actions
    }

    // MARK: Parking

    /// The next jobs to write to the parked table, in consumption order. Empty means the writer may
    /// stop (and a later `.startParkWriter` will start it again).
    public mutating func takeParkBatch() -> [ScheduledJob] {
        var batch: [ScheduledJob] = []
        while batch.count < limits.parkWriteBatch, let job = parkOutbox.popFirst() { batch.append(job) }
        if batch.isEmpty { parkWriterRunning = false }
        return batch
    }

    /// A batch from ``takeParkBatch()`` is committed: its offsets are done.
    public mutating func parkWritten(_ batch: [ScheduledJob], now: ContinuousClock.Instant) -> [Action] {
        var actions: [Action] = []
        var keysToLoad: [DeliveryKey] = []
        for job in batch {
            keys[job.key]?.unwrittenParked -= 1
            if case .kafka(let partition, let offset) = job.origin {
                markDone(partition, offset)
                // Written after its partition was revoked: the row is the next owner's.
                guard acceptedPartitions?.contains(partition) ?? true else {
                    keys[job.key]?.parkedRows -= 1
                    if keys[job.key]?.isRemovable == true { keys[job.key] = nil }
                    continue
                }
            }
            keys[job.key]?.rowsInTable += 1
            keysToLoad.append(job.key)
        }
        for key in keysToLoad { requestLoadIfNeeded(key, into: &actions) }
        return actions
    }

    /// Rows loaded for a `.loadParked`, in seq order. An empty answer means no more written rows.
    /// `batches`, when given, holds the rows' batch tickets (same order).
    /// `dropped` rows were moved to failed events by the load because they cannot be read.
    public mutating func loadedParked(
        _ key: DeliveryKey, rows: [ParkedRow], dropped: Int = 0, now: ContinuousClock.Instant, batches: [BatchTicket?] = []
    ) -> [Action] {
        guard keys[key]?.loading == true, var keyState = keys.removeValue(forKey: key) else { return [] }
        keyState.loading = false
        keyState.rowsInTable = max(0, keyState.rowsInTable - dropped)
        var actions: [Action] = []
        if rows.isEmpty {
            // Nothing written is left: only the outbox's rows remain.
            keyState.parkedRows = keyState.unwrittenParked
        } else {
            keyState.parkedRows = max(keyState.unwrittenParked, keyState.parkedRows - rows.count)
            for (index, row) in rows.enumerated() {
                let batch = index < batches.count ? batches[index] : nil
                keyState.queue.append(ScheduledJob(job: row.job, origin: .parked(seq: row.seq, from: row.partition), batch: batch))
                keyState.lastLoadedSeq = max(keyState.lastLoadedSeq, row.seq)
            }
            destinations[key.destinationId]!.queued += rows.count
            if keyState.phase == .idle {
                keyState.phase = .ready
                destinations[key.destinationId]!.ready.append(key)
            }
        }
        if !keyState.isRemovable { keys[key] = keyState }
        pump(key.destinationId, now: now, into: &actions)
        armTimerIfNeeded(into: &actions)
        return actions
    }

    // MARK: Offsets

    /// Per partition whose storable offset moved since the last call, the offset to store.
    public mutating func takeStorableOffsets() -> [PartitionRef: Int64] {
        var result: [PartitionRef: Int64] = [:]
        for partition in changedPartitions {
            if let offset = offsets[partition]?.storable { result[partition] = offset }
        }
        changedPartitions.removeAll(keepingCapacity: true)
        return result
    }

    /// Forgets a partition's offsets after it was revoked (its jobs may still finish; their offsets
    /// are no longer ours to store).
    public mutating func forgetPartition(_ partition: PartitionRef) {
        offsets[partition] = nil
        changedPartitions.remove(partition)
    }

    /// Partitions were revoked: their offsets are forgotten, their later jobs no longer taken (when
    /// ``acceptedPartitions`` is set), and their jobs in memory given up, except heads already in
    /// flight, which finish here: the partitions' next owner reads them again from the committed
    /// offset. Keys for which `stillOwns` answers false also give up their parked rows (loaded or
    /// not): the next owner loads those.
    public mutating func partitionsRevoked(_ partitions: [PartitionRef], stillOwns: (DeliveryKey) -> Bool) {
        let revoked = Set(partitions)
        for partition in partitions {
            forgetPartition(partition)
            acceptedPartitions?.remove(partition)
            dropHolds(partition)
        }
        // Jobs not yet handed to the park writer are not written: the next owner reads them again.
        var outbox = FIFO<ScheduledJob>()
        while let job = parkOutbox.popFirst() {
            guard case .kafka(let partition, _) = job.origin, revoked.contains(partition) else {
                outbox.append(job)
                continue
            }
            keys[job.key]?.parkedRows -= 1
            keys[job.key]?.unwrittenParked -= 1
        }
        parkOutbox = outbox
        for key in Array(keys.keys) {
            guard var state = keys.removeValue(forKey: key) else { continue }
            let owned = stillOwns(key)
            let headBusy = state.phase == .inFlight || state.phase == .recordingFailure
            var kept = FIFO<ScheduledJob>()
            var dropped = 0
            var busyParkedSeq: Int64?
            if headBusy, let head = state.queue.popFirst() {
                if case .parked(let seq, _) = head.origin { busyParkedSeq = seq }
                kept.append(head)
            }
            while let job = state.queue.popFirst() {
                let give: Bool
                switch job.origin {
                case .kafka(let partition, _): give = revoked.contains(partition)
                case .parked: give = !owned
                }
                if give { dropped += 1 } else { kept.append(job) }
            }
            state.queue = kept
            if dropped > 0 {
                destinations[key.destinationId]?.queued -= dropped
                if !headBusy {
                    state.phase = state.queue.isEmpty ? .idle : .ready
                    if !state.queue.isEmpty { destinations[key.destinationId]?.ready.append(key) }
                }
            }
            if !owned {
                state.parkedRows = state.unwrittenParked
                state.rowsInTable = 0
                // Rows after the one in flight are the next owner's; if the key comes back, they
                // are loaded again from there.
                state.lastLoadedSeq = busyParkedSeq ?? 0
            }
            if !state.isRemovable { keys[key] = state }
        }
    }

    // MARK: Internals

    mutating func markDone(_ partition: PartitionRef, _ offset: Int64) {
        if offsets[partition]?.markDone(offset) == true { changedPartitions.insert(partition) }
    }

    /// Removes the head of `key` (delivered, or its failure recorded) and moves the key on.
    private mutating func finishHead(_ key: DeliveryKey, recorded: Bool, now: ContinuousClock.Instant, into actions: inout [Action]) {
        // Taken out of the table so that popping mutates the queue in place (no copy of the queue).
        guard var keyState = keys.removeValue(forKey: key) else { return }
        guard let head = keyState.queue.popFirst() else {
            keys[key] = keyState
            return
        }
        let destinationId = key.destinationId
        destinations[destinationId]!.queued -= 1
        destinations[destinationId]!.recordFinish(now: now)
        switch head.origin {
        case .kafka(let partition, let offset): markDone(partition, offset)
        case .parked: break  // the caller deleted the row before reporting the outcome
        }
        if keyState.queue.isEmpty {
            keyState.phase = .idle
        } else {
            keyState.phase = .ready
            destinations[destinationId]!.ready.append(key)
        }
        keys[key] = keyState
        requestLoadIfNeeded(key, into: &actions)
        if keys[key]?.isRemovable == true { keys[key] = nil }

        // Room in the destination: stop parking, let keys waiting for a load in.
        let limit = limits.maxQueuedPerDestination
        if destinations[destinationId]!.parking && destinations[destinationId]!.queued <= limit / 2 {
            destinations[destinationId]!.parking = false
        }
        while !destinations[destinationId]!.awaitingLoad.isEmpty && hasRoomToLoad(destinationId) {
            let waiting = destinations[destinationId]!.awaitingLoad.popFirst()!
            guard keys[waiting] != nil else { continue }
            keys[waiting]!.awaitingLoad = false
            requestLoadIfNeeded(waiting, into: &actions)
            if keys[waiting]?.isRemovable == true { keys[waiting] = nil }
        }
    }

    /// Whether the destination's jobs in memory would drain within `maxBacklogDrain` at its rate.
    private func isDraining(_ destinationId: String, now: ContinuousClock.Instant) -> Bool {
        guard let destination = destinations[destinationId] else { return false }
        return Double(destination.queued) <= destination.finishRate(now: now) * limits.maxBacklogDrain.seconds
    }

    private func hasRoomToLoad(_ destinationId: String) -> Bool {
        guard let destination = destinations[destinationId] else { return false }
        return !destination.parking && destination.queued + limits.parkedLoadBatch <= limits.maxQueuedPerDestination
    }

    /// Asks for the key's next parked rows when its memory queue is empty and it has written rows.
    mutating func requestLoadIfNeeded(_ key: DeliveryKey, into actions: inout [Action]) {
        guard var keyState = keys[key], keyState.queue.isEmpty, !keyState.loading, keyState.phase == .idle,
            keyState.parkedRows > keyState.unwrittenParked, keyState.hold?.loadsHeld != true
        else { return }
        if !hasRoomToLoad(key.destinationId) {
            if !keyState.awaitingLoad {
                keyState.awaitingLoad = true
                keys[key] = keyState
                destinations[key.destinationId]!.awaitingLoad.append(key)
            }
            return
        }
        keyState.loading = true
        keys[key] = keyState
        actions.append(.loadParked(key, afterSeq: keyState.lastLoadedSeq, limit: limits.parkedLoadBatch))
    }

    /// Sends ready heads of a destination while concurrency, rate and `Retry-After` allow; heads
    /// with a batch ticket join the destination's open batch of their group instead, which leaves
    /// when full or at the end of its window (``DeliveryScheduler+Batching.swift``).
    private mutating func pump(_ destinationId: String, now: ContinuousClock.Instant, into actions: inout [Action]) {
        // Taken out of the table so that its ready queue is mutated in place (no copy per call).
        guard var destination = destinations.removeValue(forKey: destinationId) else { return }
        defer {
            armBatchTimer(&destination, destinationId)
            destinations[destinationId] = destination
        }
        if let notBefore = destination.notBefore {
            if notBefore > now {
                if (!destination.ready.isEmpty || destination.hasBatches) && !destination.timerArmed {
                    destination.timerArmed = true
                    timers.push(notBefore, .destination(destinationId))
                }
                return
            }
            destination.notBefore = nil
        }
        guard emitClosedBatches(&destination, destinationId, now: now, into: &actions) else { return }
        while destination.inFlight < destination.policy.maxConcurrency, let key = destination.ready.first {
            let batchable = destination.policy.batching && keys[key]?.queue.first?.batch != nil
            if !batchable {
                guard takeToken(&destination, destinationId, now: now) else { return }
            }
            _ = destination.ready.popFirst()
            guard keys[key]?.phase == .ready, var keyState = keys.removeValue(forKey: key) else { continue }
            guard !keyState.queue.isEmpty else {
                keys[key] = keyState
                continue
            }
            let head = keyState.queue.updateFirst { head in
                head.attempts += 1
                if head.firstAttemptAt == nil { head.firstAttemptAt = now }
                head.timeout = destination.policy.timeout
                return head
            }
            keyState.phase = .inFlight
            keys[key] = keyState
            if batchable {
                addToBatch(head, &destination, now: now)
                guard emitClosedBatches(&destination, destinationId, now: now, into: &actions) else { return }
                continue
            }
            destination.inFlight += 1
            if destination.rateWindowStart == nil { destination.rateWindowStart = now }
            actions.append(.send(head))
        }
        closeDueBatches(&destination, now: now)
        _ = emitClosedBatches(&destination, destinationId, now: now, into: &actions)
    }

    /// Takes a token of the destination's bucket (always true without a rate limit); without one,
    /// arms the refill timer and answers false.
    mutating func takeToken(_ destination: inout DestinationState, _ destinationId: String, now: ContinuousClock.Instant) -> Bool {
        guard let rate = destination.policy.requestsPerSecond else { return true }
        let burst = max(1, rate)
        if let last = destination.lastRefill {
            destination.tokens = min(burst, destination.tokens + (now - last).seconds * rate)
        }
        destination.lastRefill = now
        if destination.tokens < 1 {
            if !destination.timerArmed {
                destination.timerArmed = true
                timers.push(now + .seconds((1 - destination.tokens) / rate), .destination(destinationId))
            }
            return false
        }
        destination.tokens -= 1
        return true
    }

    private mutating func armTimerIfNeeded(into actions: inout [Action]) {
        guard let earliest = timers.earliest else { return }
        if let armed = armedTimer, armed <= earliest { return }
        armedTimer = earliest
        actions.append(.armTimer(earliest))
    }
}

extension Duration {
    /// The duration in seconds as a `Double`.
    var seconds: Double {
        let (s, attoseconds) = components
        return Double(s) + Double(attoseconds) / 1e18
    }
}

import Foundation
import JSEngineShim

/// Runs user transformations (JavaScript ES modules) in-process on SpiderMonkey.
///
/// A fixed pool of worker threads, one JavaScript context each; a batch is handed to one worker
/// and crosses the Swift↔engine boundary once. Each transformation version (a hash of its code and
/// libraries) gets its own global and zone per worker, created on first use, so a changed
/// transformation or library takes effect for the next batch. Time, memory and stack limits are
/// always on; a transformation that breaks one yields per-event errors and its realm is recycled.
///
/// Call ``shutdown()`` before the process exits (it is also done at exit and on deinit).
public final class TransformationEngine: Sendable {
    let core: EngineCore

    public init(configuration: Configuration = .init()) throws {
        core = try EngineCore(configuration: configuration)
    }

    deinit { core.shutdown() }

    /// Transforms a batch with one transformation. Returns exactly one outcome per input, in order.
    ///
    /// - Parameter allowedFetchHosts: hosts (`name` or `name:port`) the transformation's `fetch`
    ///   may reach: the workspace's allow list. Empty: no fetch.
    public func transform(
        _ inputs: [TransformInput], transformation: TransformationCode, libraries: [LibraryCode] = [],
        allowedFetchHosts: [String] = []
    ) async -> [TransformOutcome] {
        if inputs.isEmpty { return [] }
        let job = TransformJob(
            inputs: inputs, transformation: transformation, libraries: libraries,
            key: core.realmKey(transformation: transformation, libraries: libraries),
            allowedHosts: allowedFetchHosts.isEmpty ? "" : allowedFetchHosts.joined(separator: ","))
        if let worker = EngineWorker.current, worker.core === core {
            // Called from a task running on one of this engine's workers: no thread hop.
            return worker.processInline(job)
        }
        return await core.submit(job)
    }

    /// An executor that runs tasks on one of the engine's worker threads (in turn), or nil in
    /// hardened mode. `transform` called from a task that prefers it runs inline on that thread,
    /// without the two thread hand-offs a call otherwise costs: worth it for a caller that sends
    /// many small batches one after another.
    ///
    /// ```swift
    /// await withTaskExecutorPreference(engine.taskExecutor()) {
    ///     for batch in batches { _ = await engine.transform(batch, transformation: code) }
    /// }
    /// ```
    ///
    /// While such a task runs, its worker takes no other batch: keep the work done there small.
    @available(macOS 15, *)
    public func taskExecutor() -> (any TaskExecutor)? { core.nextTaskExecutor() }

    /// Stops the workers after the batches already queued and frees their contexts. Later calls
    /// to `transform` fail with an engine error. Blocks until the workers have exited.
    public func shutdown() { core.shutdown() }
}

struct TransformJob: Sendable {
    var inputs: [TransformInput]
    var transformation: TransformationCode
    var libraries: [LibraryCode]
    var key: RealmKey
    var allowedHosts: String
}

/// The queue and the workers. Submitters wait for a slot (at most `capacity` batches queued or
/// running); workers wait on a condition for jobs.
final class EngineCore: @unchecked Sendable {
    let configuration: TransformationEngine.Configuration
    let fetcher: HTTPSFetcher
    private let condition = NSCondition()
    // Guarded by `condition`.
    private var pending: [(TransformJob, CheckedContinuation<[TransformOutcome], Never>)] = []
    private var freeSlots: Int
    private var slotWaiters: [CheckedContinuation<Bool, Never>] = []
    private var closed = false
    private var runningWorkers = 0
    private var workers: [AnyObject] = []
    private var nextExecutor = 0
    /// Recently used realm keys, so that a batch does not hash the code again (SHA-256 of the
    /// code and libraries costs more than transforming one small event).
    private let keyLock = NSLock()
    private var recentKeys: [(TransformationCode, [LibraryCode], RealmKey)] = []

    init(configuration: TransformationEngine.Configuration) throws {
        self.configuration = configuration
        fetcher = HTTPSFetcher(caFile: configuration.fetchCAFile)
        let count = max(1, configuration.workers)
        freeSlots = configuration.queueCapacity > 0 ? configuration.queueCapacity : 2 * count
        if case .inProcess = configuration.isolation, kjs_process_start() != 0 {
            throw TransformationError(code: .engine, message: "SpiderMonkey could not be initialised")
        }
        for number in 0..<count {
            let worker: AnyObject
            let ok: Bool
            switch configuration.isolation {
            case .inProcess:
                let inProcess = EngineWorker(core: self, number: number)
                (worker, ok) = (inProcess, inProcess.start())
            case .workerProcesses(let executable):
                let process = ProcessWorker(core: self, executable: executable)
                (worker, ok) = (process, process.start())
            }
            guard ok else {
                shutdown()
                throw TransformationError(code: .engine, message: "could not create a JavaScript context")
            }
            condition.lock()
            workers.append(worker)
            runningWorkers += 1
            condition.unlock()
        }
    }

    func submit(_ job: TransformJob) async -> [TransformOutcome] {
        if !(await acquireSlot()) {
            return Self.failAll(job.inputs.count, message: "the transformation engine is shut down")
        }
        return await withCheckedContinuation { continuation in
            condition.lock()
            if closed {
                condition.unlock()
                continuation.resume(returning: Self.failAll(job.inputs.count, message: "the transformation engine is shut down"))
                return
            }
            pending.append((job, continuation))
            condition.signal()
            condition.unlock()
        }
    }

    /// Takes a queue slot, waiting for one when all are taken; false when the engine is closed.
    private func acquireSlot() async -> Bool {
        if let immediate = tryAcquireSlot() { return immediate }
        return await withCheckedContinuation { continuation in
            condition.lock()
            if closed {
                condition.unlock()
                continuation.resume(returning: false)
            } else if freeSlots > 0 {
                freeSlots -= 1
                condition.unlock()
                continuation.resume(returning: true)
            } else {
                slotWaiters.append(continuation)
                condition.unlock()
            }
        }
    }

    /// nil when the caller must wait for a slot.
    private func tryAcquireSlot() -> Bool? {
        condition.lock()
        defer { condition.unlock() }
        if closed { return false }
        guard freeSlots > 0 else { return nil }
        freeSlots -= 1
        return true
    }

    /// Blocks until a job is available; nil when the engine is closed and drained.
    func nextJob() -> (TransformJob, CheckedContinuation<[TransformOutcome], Never>)? {
        condition.lock()
        defer { condition.unlock() }
        while pending.isEmpty && !closed { condition.wait() }
        if pending.isEmpty { return nil }
        return pending.removeFirst()
    }

    enum Work {
        case batch(TransformJob, CheckedContinuation<[TransformOutcome], Never>)
        case swift(UnownedJob)
    }

    /// For an in-process worker: blocks until a Swift job enqueued on it or a batch is available;
    /// nil when the engine is closed and both are drained.
    func nextWork(for worker: EngineWorker) -> Work? {
        condition.lock()
        defer { condition.unlock() }
        while true {
            if !worker.swiftJobs.isEmpty { return .swift(worker.swiftJobs.removeFirst()) }
            if !pending.isEmpty {
                let (job, continuation) = pending.removeFirst()
                return .batch(job, continuation)
            }
            if closed {
                worker.exited = true
                return nil
            }
            condition.wait()
        }
    }

    /// Queues a Swift job on a worker's thread; false when that thread has left its loop.
    func enqueue(_ job: UnownedJob, on worker: EngineWorker) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        if worker.exited { return false }
        worker.swiftJobs.append(job)
        condition.broadcast()  // the condition is shared by all workers
        return true
    }

    @available(macOS 15, *)
    func nextTaskExecutor() -> (any TaskExecutor)? {
        condition.lock()
        defer { condition.unlock() }
        let inProcess = workers.compactMap { $0 as? EngineWorker }
        guard !inProcess.isEmpty else { return nil }
        nextExecutor = (nextExecutor + 1) % inProcess.count
        return inProcess[nextExecutor]
    }

    func realmKey(transformation: TransformationCode, libraries: [LibraryCode]) -> RealmKey {
        keyLock.lock()
        if let index = recentKeys.firstIndex(where: { $0.0 == transformation && $0.1 == libraries }) {
            let key = recentKeys[index].2
            keyLock.unlock()
            return key
        }
        keyLock.unlock()
        let key = RealmKey(transformation: transformation, libraries: libraries)
        keyLock.lock()
        if recentKeys.count >= 16 { recentKeys.removeFirst() }
        recentKeys.append((transformation, libraries, key))
        keyLock.unlock()
        return key
    }

    func jobFinished() {
        condition.lock()
        if slotWaiters.isEmpty {
            freeSlots += 1
            condition.unlock()
        } else {
            let waiter = slotWaiters.removeFirst()
            condition.unlock()
            waiter.resume(returning: true)
        }
    }

    func workerExited() {
        condition.lock()
        runningWorkers -= 1
        condition.broadcast()
        condition.unlock()
    }

    func shutdown() {
        condition.lock()
        let waiters = slotWaiters
        slotWaiters = []
        closed = true
        condition.broadcast()
        // Called from a task running on one of our workers: that worker exits after this job.
        let ownThread = EngineWorker.current?.core === self ? 1 : 0
        while runningWorkers > ownThread { condition.wait() }
        workers = []
        condition.unlock()
        fetcher.shutdown()
        for waiter in waiters { waiter.resume(returning: false) }
    }

    static func failAll(_ count: Int, message: String) -> [TransformOutcome] {
        Array(
            repeating: TransformOutcome(result: .failed(TransformationError(code: .engine, message: message))),
            count: count)
    }
}

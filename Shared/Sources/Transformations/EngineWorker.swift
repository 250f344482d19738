import Foundation
import JSEngineShim

/// One worker thread owning one JavaScript context (contexts are bound to their thread) and a
/// bounded cache of realms, one per transformation version.
///
/// The thread is also a task executor (``TransformationEngine/taskExecutor()``): Swift jobs
/// enqueued on it run between batches, and a `transform` called from such a job runs inline,
/// without a thread hop.
final class EngineWorker: @unchecked Sendable {
    unowned let core: EngineCore
    private let number: Int
    private let started = DispatchSemaphore(value: 0)
    private var startedOK = false
    /// Swift jobs enqueued on this worker as a task executor; guarded by the core's condition.
    var swiftJobs: [UnownedJob] = []
    /// Set (under the core's condition) when the thread has left its loop.
    var exited = false
    // Touched only on the worker thread.
    private var context: OpaquePointer?
    private var realms: [RealmKey: CachedRealm] = [:]
    private var tick: UInt64 = 0
    private let arena = InputArena()
    /// The realm used by the previous batch: a run of batches of one transformation skips the
    /// dictionary.
    private var lastRealm: (key: RealmKey, state: CachedRealm.State)?

    /// The worker whose thread is running the caller, if any.
    static var current: EngineWorker? {
        guard let pointer = pthread_getspecific(currentWorkerKey) else { return nil }
        return Unmanaged<EngineWorker>.fromOpaque(pointer).takeUnretainedValue()
    }

    private struct CachedRealm {
        enum State {
            case ready(OpaquePointer)
            case failed(TransformationError)
        }
        var state: State
        var lastUse: UInt64
    }

    init(core: EngineCore, number: Int) {
        self.core = core
        self.number = number
    }

    /// Starts the thread and waits until its context exists.
    func start() -> Bool {
        let thread = Thread { [self] in run() }
        thread.stackSize = core.configuration.stackLimitBytes + (4 << 20)
        thread.name = "keel-js-\(number)"
        thread.start()
        started.wait()
        return startedOK
    }

    private func run() {
        var options = kjs_context_options(
            memory_limit_bytes: UInt64(core.configuration.memoryLimitBytes),
            native_stack_quota: core.configuration.stackLimitBytes,
            on_process_exit: { user in
                // At process exit: stop the engine (its workers free their contexts).
                Unmanaged<EngineCore>.fromOpaque(user!).takeUnretainedValue().shutdown()
            },
            exit_user: Unmanaged.passUnretained(core).toOpaque())
        context = kjs_context_new(&options)
        startedOK = context != nil
        started.signal()
        guard let context else { return }
        pthread_setspecific(currentWorkerKey, Unmanaged.passUnretained(self).toOpaque())
        while let work = core.nextWork(for: self) {
            switch work {
            case .batch(let job, let continuation):
                let outcomes = process(job, context: context)
                continuation.resume(returning: outcomes)
                core.jobFinished()
            case .swift(let job):
                // Only the TaskExecutor conformance (macOS 15 and later, always on Linux) enqueues these.
                if #available(macOS 15, *) { job.runSynchronously(on: asUnownedTaskExecutor()) }
            }
        }
        pthread_setspecific(currentWorkerKey, nil)
        for (_, cached) in realms {
            if case .ready(let realm) = cached.state { kjs_realm_free(context, realm) }
        }
        realms = [:]
        lastRealm = nil
        kjs_context_free(context)
        self.context = nil
        core.workerExited()
    }

    // MARK: - Realms

    private func realm(for job: TransformJob, context: OpaquePointer) -> CachedRealm.State {
        if let last = lastRealm, last.key == job.key { return last.state }
        let state = lookUpRealm(for: job, context: context)
        lastRealm = (job.key, state)
        return state
    }

    private func lookUpRealm(for job: TransformJob, context: OpaquePointer) -> CachedRealm.State {
        tick &+= 1
        if let last = lastRealm { realms[last.key]?.lastUse = tick }  // its uses since it became last
        tick &+= 1
        if var cached = realms[job.key] {
            cached.lastUse = tick
            realms[job.key] = cached
            return cached.state
        }
        if realms.count >= max(1, core.configuration.realmsPerWorker) { evictLeastRecentlyUsed(context: context) }
        let collector = OutcomeCollector(count: 1)
        let libraries = job.libraries.map { (Array($0.name.utf8), Array($0.code.utf8)) }
        let code = Array(job.transformation.code.utf8)
        let state: CachedRealm.State = collector.withSink { sink in
            var sink = sink
            return withLibraries(libraries) { libraryPointers in
                code.withUnsafeBufferPointer { codeBuffer in
                    let realm = kjs_realm_new(
                        context, job.transformation.id, UnsafeRawPointer(codeBuffer.baseAddress)?.assumingMemoryBound(to: CChar.self),
                        codeBuffer.count, libraryPointers.baseAddress, libraryPointers.count,
                        core.configuration.timeLimit.milliseconds, &sink)
                    if let realm { return .ready(realm) }
                    return .failed(
                        collector.firstError
                            ?? TransformationError(code: .compile, message: "the transformation could not be loaded"))
                }
            }
        }
        if case .failed(let error) = state, error.code == .timeout || error.code == .memoryLimit {
            kjs_context_collect(context)
        }
        realms[job.key] = CachedRealm(state: state, lastUse: tick)
        return state
    }

    private func evictLeastRecentlyUsed(context: OpaquePointer) {
        guard let (key, cached) = realms.min(by: { $0.value.lastUse < $1.value.lastUse }) else { return }
        realms[key] = nil
        if lastRealm?.key == key { lastRealm = nil }
        if case .ready(let realm) = cached.state { kjs_realm_free(context, realm) }
    }

    private func discard(_ key: RealmKey, context: OpaquePointer) {
        if lastRealm?.key == key { lastRealm = nil }
        if let cached = realms.removeValue(forKey: key), case .ready(let realm) = cached.state {
            kjs_realm_free(context, realm)
        }
        kjs_context_collect(context)
    }

    // MARK: - Batches

    /// Runs a batch on the calling thread, which must be this worker's (a Swift job it runs).
    func processInline(_ job: TransformJob) -> [TransformOutcome] {
        guard let context else {
            return EngineCore.failAll(job.inputs.count, message: "the transformation engine is shut down")
        }
        return process(job, context: context)
    }

    private func process(_ job: TransformJob, context: OpaquePointer) -> [TransformOutcome] {
        let count = job.inputs.count
        let collector = OutcomeCollector(count: count)
        arena.fill(job.inputs)
        var allowedHosts = job.allowedHosts
        var start = 0
        arena.withInputs { inputs in
            allowedHosts.withUTF8 { hosts in
                var options = kjs_call_options(
                    time_limit_ms: core.configuration.timeLimit.milliseconds,
                    fetch_timeout_ms: core.configuration.fetchTimeout.milliseconds,
                    allowed_hosts: UnsafeRawPointer(hosts.baseAddress)?.assumingMemoryBound(to: CChar.self),
                    allowed_hosts_len: hosts.count,
                    max_log_lines: UInt32(clamping: core.configuration.maxLogLinesPerEvent),
                    max_log_bytes: UInt32(clamping: core.configuration.maxLogBytesPerEvent),
                    max_fetch_response_bytes: UInt32(clamping: core.configuration.maxFetchResponseBytes),
                    https_fetch: HTTPSFetcher.callback, https_fetch_user: Unmanaged.passUnretained(core.fetcher).toOpaque())
                while start < count {
                    switch realm(for: job, context: context) {
                    case .failed(let error):
                        collector.fail(start..<count, with: error)
                        start = count
                    case .ready(let realm):
                        collector.base = start
                        var poisoned: Int32 = 0
                        let handled = collector.withSink { sink in
                            var sink = sink
                            return kjs_transform(
                                context, realm, inputs.baseAddress! + start, count - start, &options, &sink, &poisoned)
                        }
                        if poisoned != 0 || handled < count - start { discard(job.key, context: context) }
                        if handled == 0 {
                            collector.fail(
                                start..<count,
                                with: TransformationError(code: .engine, message: "the engine made no progress on this batch"))
                            start = count
                        }
                        start += handled
                    }
                }
            }
        }
        return collector.outcomes()
    }
}

@available(macOS 15, *)
extension EngineWorker: TaskExecutor {
    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        if !core.enqueue(job, on: self) {
            // The thread has left its loop (engine shut down): run the job elsewhere.
            globalConcurrentExecutor.enqueue(ExecutorJob(job))
        }
    }
}

/// Thread-specific slot holding the ``EngineWorker`` of the current thread.
private let currentWorkerKey: pthread_key_t = {
    var key = pthread_key_t()
    pthread_key_create(&key, nil)
    return key
}()

/// Calls `body` with C views of the libraries (valid only inside).
private func withLibraries<R>(_ libraries: [([UInt8], [UInt8])], _ body: (UnsafeBufferPointer<kjs_library>) -> R) -> R {
    var flat: [UInt8] = []
    var ranges: [(Int, Int, Int, Int)] = []
    for (name, code) in libraries {
        ranges.append((flat.count, name.count, flat.count + name.count, code.count))
        flat += name
        flat += code
    }
    return flat.withUnsafeBufferPointer { buffer in
        let base = UnsafeRawPointer(buffer.baseAddress)?.assumingMemoryBound(to: CChar.self)
        let views = ranges.map { range in
            kjs_library(name: base.map { $0 + range.0 }, name_len: range.1, code: base.map { $0 + range.2 }, code_len: range.3)
        }
        return views.withUnsafeBufferPointer(body)
    }
}

/// The inputs of a batch laid out in one buffer, so that C sees stable pointers: the event bytes,
/// then the metadata fields one after another. A worker reuses one arena (and its capacity) for
/// every batch.
final class InputArena {
    private var bytes: [UInt8] = []
    private var ranges: [(event: Range<Int>, metadata: Int, lengths: (UInt32, UInt32, UInt32, UInt32, UInt32, UInt32))] = []
    private var views: [kjs_input] = []

    func fill(_ inputs: [TransformInput]) {
        // Local buffers (moved out and back, so no copy): appends to a class's stored arrays pay
        // an exclusivity check each.
        var bytes = self.bytes
        var ranges = self.ranges
        self.bytes = []
        self.ranges = []
        defer {
            self.bytes = bytes
            self.ranges = ranges
        }
        bytes.removeAll(keepingCapacity: true)
        ranges.removeAll(keepingCapacity: true)
        func append(_ field: String) -> UInt32 {
            var field = field
            return field.withUTF8 { utf8 in
                bytes.append(contentsOf: utf8)
                return UInt32(clamping: utf8.count)
            }
        }
        for input in inputs {
            let eventStart = bytes.count
            bytes.append(contentsOf: input.event)
            let metadataStart = bytes.count
            let m = input.metadata
            let lengths = (
                append(m.sourceId), append(m.sourceType), append(m.destinationId), append(m.destinationType),
                append(m.messageId), append(m.workspaceId)
            )
            ranges.append((eventStart..<metadataStart, metadataStart, lengths))
        }
    }

    func withInputs<R>(_ body: (UnsafeBufferPointer<kjs_input>) -> R) -> R {
        bytes.withUnsafeBufferPointer { buffer in
            let base = UnsafeRawPointer(buffer.baseAddress)?.assumingMemoryBound(to: CChar.self)
            views.removeAll(keepingCapacity: true)
            for range in ranges {
                views.append(
                    kjs_input(
                        event: base.map { $0 + range.event.lowerBound }, event_len: range.event.count,
                        metadata: base.map { $0 + range.metadata }, metadata_len: range.lengths))
            }
            return views.withUnsafeBufferPointer(body)
        }
    }
}

/// Collects what the engine reports through the C sink, for one batch, straight into the
/// outcomes (every input starts as dropped: no output yet).
final class OutcomeCollector {
    var base = 0
    private var results: [TransformOutcome]

    init(count: Int) {
        results = Array(repeating: TransformOutcome(result: .dropped), count: count)
    }

    /// The first input's error, if it failed.
    var firstError: TransformationError? {
        if case .failed(let error)? = results.first?.result { return error }
        return nil
    }

    func fail(_ range: Range<Int>, with error: TransformationError) {
        for index in range { results[index].result = .failed(error) }
    }

    /// An output event of input `index`; once it failed, the failure stands.
    private func add(event: [UInt8], at index: Int) {
        switch results[index].result {
        case .dropped:
            results[index].result = .events([event])
        case .events(var events):
            results[index].result = .dropped  // the list is uniquely held while it grows
            events.append(event)
            results[index].result = .events(events)
        case .failed:
            break
        }
    }

    /// The first error of input `index` wins.
    private func add(error: TransformationError, at index: Int) {
        if case .failed = results[index].result { return }
        results[index].result = .failed(error)
    }

    func withSink<R>(_ body: (kjs_sink) -> R) -> R {
        let sink = kjs_sink(
            user: Unmanaged.passUnretained(self).toOpaque(),
            event: { user, index, json, length in
                let collector = Unmanaged<OutcomeCollector>.fromOpaque(user!).takeUnretainedValue()
                collector.add(event: Array(UnsafeRawBufferPointer(start: json, count: length)), at: collector.base + index)
            },
            log: { user, index, line, length in
                let collector = Unmanaged<OutcomeCollector>.fromOpaque(user!).takeUnretainedValue()
                let bytes = UnsafeRawBufferPointer(start: line, count: length)
                collector.results[collector.base + index].logs.append(String(decoding: bytes, as: UTF8.self))
            },
            error: { user, index, error in
                let collector = Unmanaged<OutcomeCollector>.fromOpaque(user!).takeUnretainedValue()
                guard let error else { return }
                collector.add(error: TransformationError(error.pointee), at: collector.base + index)
            })
        return withExtendedLifetime(self) { body(sink) }
    }

    func outcomes() -> [TransformOutcome] { results }
}

extension TransformationError {
    init(_ error: kjs_error) {
        func text(_ pointer: UnsafePointer<CChar>?, _ length: Int) -> String? {
            guard let pointer, length > 0 else { return nil }
            return String(decoding: UnsafeRawBufferPointer(start: pointer, count: length), as: UTF8.self)
        }
        let code: Code =
            switch error.kind {
            case Int32(KJS_ERROR_TIMEOUT): .timeout
            case Int32(KJS_ERROR_MEMORY): .memoryLimit
            case Int32(KJS_ERROR_COMPILE): .compile
            case Int32(KJS_ERROR_OUTPUT): .invalidOutput
            case Int32(KJS_ERROR_EXCEPTION): .exception
            default: .engine
            }
        self.init(
            code: code, message: text(error.message, error.message_len) ?? "unknown error",
            file: text(error.file, error.file_len), line: error.line > 0 ? Int(error.line) : nil,
            column: error.column > 0 ? Int(error.column) : nil, stack: text(error.stack, error.stack_len))
    }
}

import Foundation
import JSEngineShim

/// One worker thread owning one JavaScript context (contexts are bound to their thread) and a
/// bounded cache of realms, one per transformation version.
final class EngineWorker: @unchecked Sendable {
    private unowned let core: EngineCore
    private let number: Int
    private let started = DispatchSemaphore(value: 0)
    private var startedOK = false
    // Touched only on the worker thread.
    private var context: OpaquePointer?
    private var realms: [RealmKey: CachedRealm] = [:]
    private var tick: UInt64 = 0

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
        while let (job, continuation) = core.nextJob() {
            let outcomes = process(job, context: context)
            continuation.resume(returning: outcomes)
            core.jobFinished()
        }
        for (_, cached) in realms {
            if case .ready(let realm) = cached.state { kjs_realm_free(context, realm) }
        }
        realms = [:]
        kjs_context_free(context)
        self.context = nil
        core.workerExited()
    }

    // MARK: - Realms

    private func realm(for job: TransformJob, context: OpaquePointer) -> CachedRealm.State {
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
                        collector.errors[0]
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
        if case .ready(let realm) = cached.state { kjs_realm_free(context, realm) }
    }

    private func discard(_ key: RealmKey, context: OpaquePointer) {
        if let cached = realms.removeValue(forKey: key), case .ready(let realm) = cached.state {
            kjs_realm_free(context, realm)
        }
        kjs_context_collect(context)
    }

    // MARK: - Batches

    private func process(_ job: TransformJob, context: OpaquePointer) -> [TransformOutcome] {
        let count = job.inputs.count
        let collector = OutcomeCollector(count: count)
        let arena = InputArena(job.inputs)
        let allowedHosts = Array(job.allowedHosts.utf8)
        var start = 0
        arena.withInputs { inputs in
            allowedHosts.withUnsafeBufferPointer { hosts in
                var options = kjs_call_options(
                    time_limit_ms: core.configuration.timeLimit.milliseconds,
                    fetch_timeout_ms: core.configuration.fetchTimeout.milliseconds,
                    allowed_hosts: UnsafeRawPointer(hosts.baseAddress)?.assumingMemoryBound(to: CChar.self),
                    allowed_hosts_len: hosts.count,
                    max_log_lines: UInt32(clamping: core.configuration.maxLogLinesPerEvent),
                    max_log_bytes: UInt32(clamping: core.configuration.maxLogBytesPerEvent),
                    max_fetch_response_bytes: UInt32(clamping: core.configuration.maxFetchResponseBytes))
                while start < count {
                    switch realm(for: job, context: context) {
                    case .failed(let error):
                        for index in start..<count { collector.errors[index] = error }
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
                            for index in start..<count {
                                collector.errors[index] = TransformationError(
                                    code: .engine, message: "the engine made no progress on this batch")
                            }
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

/// The inputs of a batch laid out in one buffer, so that C sees stable pointers.
struct InputArena {
    private var bytes: [UInt8] = []
    private var ranges: [(event: Range<Int>, metadata: Range<Int>, messageId: Range<Int>)] = []

    init(_ inputs: [TransformInput]) {
        bytes.reserveCapacity(inputs.reduce(0) { $0 + $1.event.count + 256 })
        ranges.reserveCapacity(inputs.count)
        for input in inputs {
            let eventStart = bytes.count
            bytes += input.event
            let metadataStart = bytes.count
            MetadataJSON.append(input.metadata, to: &bytes)
            let idStart = bytes.count
            bytes += input.metadata.messageId.utf8
            ranges.append((eventStart..<metadataStart, metadataStart..<idStart, idStart..<bytes.count))
        }
    }

    func withInputs<R>(_ body: (UnsafeBufferPointer<kjs_input>) -> R) -> R {
        bytes.withUnsafeBufferPointer { buffer in
            let base = UnsafeRawPointer(buffer.baseAddress)?.assumingMemoryBound(to: CChar.self)
            let inputs = ranges.map { range in
                kjs_input(
                    event: base.map { $0 + range.event.lowerBound }, event_len: range.event.count,
                    metadata: base.map { $0 + range.metadata.lowerBound }, metadata_len: range.metadata.count,
                    message_id: base.map { $0 + range.messageId.lowerBound }, message_id_len: range.messageId.count)
            }
            return inputs.withUnsafeBufferPointer(body)
        }
    }
}

enum MetadataJSON {
    static func append(_ metadata: TransformMetadata, to bytes: inout [UInt8]) {
        bytes += #"{"sourceId":"#.utf8
        appendString(metadata.sourceId, to: &bytes)
        bytes += #","sourceType":"#.utf8
        appendString(metadata.sourceType, to: &bytes)
        bytes += #","destinationId":"#.utf8
        appendString(metadata.destinationId, to: &bytes)
        bytes += #","destinationType":"#.utf8
        appendString(metadata.destinationType, to: &bytes)
        bytes += #","messageId":"#.utf8
        appendString(metadata.messageId, to: &bytes)
        bytes += #","workspaceId":"#.utf8
        appendString(metadata.workspaceId, to: &bytes)
        bytes.append(UInt8(ascii: "}"))
    }

    static func appendString(_ string: String, to bytes: inout [UInt8]) {
        bytes.append(UInt8(ascii: "\""))
        for byte in string.utf8 {
            switch byte {
            case UInt8(ascii: "\""): bytes += #"\""#.utf8
            case UInt8(ascii: "\\"): bytes += #"\\"#.utf8
            case 0..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                bytes += #"\u00"#.utf8
                bytes.append(hex[Int(byte >> 4)])
                bytes.append(hex[Int(byte & 0xf)])
            default: bytes.append(byte)
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }
}

/// Collects what the engine reports through the C sink, for one batch.
final class OutcomeCollector {
    var base = 0
    var events: [[[UInt8]]]
    var logs: [[String]]
    var errors: [TransformationError?]

    init(count: Int) {
        events = Array(repeating: [], count: count)
        logs = Array(repeating: [], count: count)
        errors = Array(repeating: nil, count: count)
    }

    func withSink<R>(_ body: (kjs_sink) -> R) -> R {
        let sink = kjs_sink(
            user: Unmanaged.passUnretained(self).toOpaque(),
            event: { user, index, json, length in
                let collector = Unmanaged<OutcomeCollector>.fromOpaque(user!).takeUnretainedValue()
                let bytes = UnsafeRawBufferPointer(start: json, count: length)
                collector.events[collector.base + index].append(Array(bytes))
            },
            log: { user, index, line, length in
                let collector = Unmanaged<OutcomeCollector>.fromOpaque(user!).takeUnretainedValue()
                let bytes = UnsafeRawBufferPointer(start: line, count: length)
                collector.logs[collector.base + index].append(String(decoding: bytes, as: UTF8.self))
            },
            error: { user, index, error in
                let collector = Unmanaged<OutcomeCollector>.fromOpaque(user!).takeUnretainedValue()
                guard let error, collector.errors[collector.base + index] == nil else { return }
                collector.errors[collector.base + index] = TransformationError(error.pointee)
            })
        return withExtendedLifetime(self) { body(sink) }
    }

    func outcomes() -> [TransformOutcome] {
        (0..<events.count).map { index in
            if let error = errors[index] { return TransformOutcome(result: .failed(error), logs: logs[index]) }
            if events[index].isEmpty { return TransformOutcome(result: .dropped, logs: logs[index]) }
            return TransformOutcome(result: .events(events[index]), logs: logs[index])
        }
    }
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

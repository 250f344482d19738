import Foundation
import Glibc

/// Hardened mode, host side: one worker thread per child process (`keel-transform-worker`); the
/// thread writes a batch frame to the child's stdin and reads the outcome frame from its stdout.
/// A child that dies (crash, kill by an rlimit) fails the batch in flight with a retryable engine
/// error and is started again for the next batch.
final class ProcessWorker: @unchecked Sendable {
    private unowned let core: EngineCore
    private let executable: String
    private let started = DispatchSemaphore(value: 0)
    private var startedOK = false
    // Touched only on the worker thread.
    private var child: (pid: pid_t, input: Int32, output: Int32)?

    init(core: EngineCore, executable: String) {
        self.core = core
        self.executable = executable
    }

    func start() -> Bool {
        let thread = Thread { [self] in run() }
        thread.start()
        started.wait()
        return startedOK
    }

    private func run() {
        startedOK = spawn()
        started.signal()
        guard startedOK else { return }
        while let (job, continuation) = core.nextJob() {
            continuation.resume(returning: exchange(job))
            core.jobFinished()
        }
        stop()
        core.workerExited()
    }

    private func exchange(_ job: TransformJob) -> [TransformOutcome] {
        if child == nil && !spawn() {
            return EngineCore.failAll(job.inputs.count, message: "the transformation worker process could not be started")
        }
        guard let child, writeAll(child.input, job.encoded()), let header = readExactly(child.output, 4) else {
            return died(job)
        }
        let length = Int(header[0]) | Int(header[1]) << 8 | Int(header[2]) << 16 | Int(header[3]) << 24
        guard let payload = readExactly(child.output, length), let outcomes = try? OutcomeWire.decode(payload),
            outcomes.count == job.inputs.count
        else { return died(job) }
        return outcomes
    }

    private func died(_ job: TransformJob) -> [TransformOutcome] {
        stop()
        return EngineCore.failAll(
            job.inputs.count, message: "the transformation worker process died during this batch; it is restarted")
    }

    private func spawn() -> Bool {
        // A socket pair rather than pipes: writes to a dead child fail with EPIPE instead of
        // raising SIGPIPE in this process.
        var pair: [Int32] = [0, 0]
        guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &pair) == 0 else { return false }
        for fd in pair { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        posix_spawn_file_actions_adddup2(&actions, pair[1], 0)
        posix_spawn_file_actions_adddup2(&actions, pair[1], 1)
        let c = core.configuration
        let arguments =
            [
                executable, "--time-limit-ms", "\(c.timeLimit.milliseconds)", "--memory-limit-bytes", "\(c.memoryLimitBytes)",
                "--address-space-bytes", "\(c.workerAddressSpaceBytes)", "--fetch-timeout-ms", "\(c.fetchTimeout.milliseconds)",
            ] + (c.fetchCAFile.map { ["--fetch-ca-file", $0] } ?? [])
        var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        var pid: pid_t = 0
        let result = posix_spawn(&pid, executable, &actions, nil, &argv, environ)
        for pointer in argv { free(pointer) }
        posix_spawn_file_actions_destroy(&actions)
        close(pair[1])
        guard result == 0 else {
            close(pair[0])
            return false
        }
        child = (pid, pair[0], pair[0])
        return true
    }

    private func stop() {
        guard let child else { return }
        close(child.input)  // the child exits at end of input (input and output are one socket)
        var status: Int32 = 0
        for _ in 0..<50 {  // up to 0.5 s for a clean exit, then kill
            if waitpid(child.pid, &status, WNOHANG) == child.pid {
                self.child = nil
                return
            }
            usleep(10_000)
        }
        kill(child.pid, SIGKILL)
        waitpid(child.pid, &status, 0)
        self.child = nil
    }
}

private func writeAll(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
    bytes.withUnsafeBytes { buffer in
        var offset = 0
        while offset < buffer.count {
            let n = send(fd, buffer.baseAddress! + offset, buffer.count - offset, Int32(MSG_NOSIGNAL))
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return false }
            offset += n
        }
        return true
    }
}

func readExactly(_ fd: Int32, _ count: Int) -> [UInt8]? {
    var out = [UInt8](repeating: 0, count: count)
    var offset = 0
    let ok = out.withUnsafeMutableBytes { buffer in
        while offset < count {
            let n = read(fd, buffer.baseAddress! + offset, count - offset)
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return false }
            offset += n
        }
        return true
    }
    return ok ? out : nil
}

/// Hardened mode, child side: the body of `keel-transform-worker`.
public enum TransformationWorkerProcess {
    /// Applies resource limits, then serves batch frames from stdin until it closes.
    public static func run(arguments: [String]) async -> Int32 {
        var configuration = TransformationEngine.Configuration()
        configuration.workers = 1
        var addressSpace = configuration.workerAddressSpaceBytes
        var iterator = arguments.dropFirst().makeIterator()
        while let name = iterator.next(), let text = iterator.next() {
            if name == "--fetch-ca-file" {
                configuration.fetchCAFile = text
                continue
            }
            guard let value = Int(text) else { continue }
            switch name {
            case "--time-limit-ms": configuration.timeLimit = .milliseconds(value)
            case "--memory-limit-bytes": configuration.memoryLimitBytes = value
            case "--address-space-bytes": addressSpace = value
            case "--fetch-timeout-ms": configuration.fetchTimeout = .milliseconds(value)
            default: break
            }
        }
        var limit = rlimit(rlim_cur: rlim_t(addressSpace), rlim_max: rlim_t(addressSpace))
        setrlimit(__rlimit_resource_t(RLIMIT_AS.rawValue), &limit)
        var noCore = rlimit(rlim_cur: 0, rlim_max: 0)
        setrlimit(__rlimit_resource_t(RLIMIT_CORE.rawValue), &noCore)
        let engine: TransformationEngine
        do {
            engine = try TransformationEngine(configuration: configuration)
        } catch {
            return 3
        }
        while let header = readExactly(0, 4) {
            let length = Int(header[0]) | Int(header[1]) << 8 | Int(header[2]) << 16 | Int(header[3]) << 24
            guard let payload = readExactly(0, length), let job = try? TransformJob(decoding: payload) else { break }
            let outcomes = await engine.transform(
                job.inputs, transformation: job.transformation, libraries: job.libraries,
                allowedFetchHosts: job.allowedHosts.isEmpty ? [] : [job.allowedHosts])
            guard writeFile(1, OutcomeWire.encode(outcomes)) else { break }
        }
        engine.shutdown()
        return 0
    }
}

private func writeFile(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
    bytes.withUnsafeBytes { buffer in
        var offset = 0
        while offset < buffer.count {
            let n = write(fd, buffer.baseAddress! + offset, buffer.count - offset)
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return false }
            offset += n
        }
        return true
    }
}

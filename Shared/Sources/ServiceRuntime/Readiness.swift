public import Logging

/// A named condition a process must meet before it should receive traffic, such as "postgres"
/// (the database answers) or "config" (the workspace configuration is loaded).
public struct ReadinessCheck: Sendable {
    /// Short name shown in the `/health/ready` answer and in logs.
    public var name: String
    /// Returns whether the condition holds now. Should be quick; it runs under a timeout.
    public var isReady: @Sendable () async -> Bool

    public init(_ name: String, isReady: @escaping @Sendable () async -> Bool) {
        self.name = name
        self.isReady = isReady
    }
}

/// The outcome of evaluating every check once.
public struct ReadinessReport: Sendable, Equatable {
    /// Names of the checks that failed, in registration order; a check that did not answer in
    /// time is listed as `name (timed out)`.
    public var failing: [String]

    /// True when every check passed.
    public var isReady: Bool { self.failing.isEmpty }

    public init(failing: [String]) {
        self.failing = failing
    }
}

/// The readiness checks of a process, evaluated together for `/health/ready`.
///
/// Each check runs concurrently under ``timeout``; one that does not answer in time counts as
/// failing (its task is cancelled and left to finish on its own). The report is cached for
/// ``cacheDuration`` so a burst of probes does not hammer Postgres or Kafka, and concurrent callers
/// share one evaluation. Transitions between ready and not ready are logged.
public actor Readiness {
    /// How long a check may take before it counts as failed. Default 2 s.
    public let timeout: Duration
    /// How long a report is reused. Default 1 s.
    public let cacheDuration: Duration

    private var checks: [ReadinessCheck]
    private let logger: Logger
    private var cached: (report: ReadinessReport, at: ContinuousClock.Instant)?
    private var inFlight: Task<ReadinessReport, Never>?
    private var lastReady: Bool?

    public init(
        checks: [ReadinessCheck] = [],
        timeout: Duration = .seconds(2),
        cacheDuration: Duration = .seconds(1),
        logger: Logger
    ) {
        self.checks = checks
        self.timeout = timeout
        self.cacheDuration = cacheDuration
        self.logger = logger
    }

    /// Adds a check; it takes part from the next evaluation on.
    public func register(_ check: ReadinessCheck) {
        self.checks.append(check)
        self.cached = nil
    }

    /// Adds a check named `name`.
    public func register(_ name: String, isReady: @escaping @Sendable () async -> Bool) {
        self.register(ReadinessCheck(name, isReady: isReady))
    }

    /// The current report: cached if younger than ``cacheDuration``, else freshly evaluated.
    public func evaluate() async -> ReadinessReport {
        let now = ContinuousClock.now
        if let cached, now - cached.at < self.cacheDuration {
            return cached.report
        }
        if let inFlight {
            return await inFlight.value
        }
        let checks = self.checks
        let timeout = self.timeout
        let task = Task { await Self.run(checks, timeout: timeout) }
        self.inFlight = task
        let report = await task.value
        self.inFlight = nil
        self.cached = (report, ContinuousClock.now)
        self.logTransition(report)
        return report
    }

    private func logTransition(_ report: ReadinessReport) {
        guard report.isReady != self.lastReady else { return }
        self.lastReady = report.isReady
        if report.isReady {
            self.logger.info("ready")
        } else {
            self.logger.warning("not ready", metadata: ["failing": .array(report.failing.map { .string($0) })])
        }
    }

    private static func run(_ checks: [ReadinessCheck], timeout: Duration) async -> ReadinessReport {
        let outcomes = await withTaskGroup(of: (Int, CheckOutcome).self) { group in
            for (index, check) in checks.enumerated() {
                group.addTask { (index, await runWithTimeout(check, timeout: timeout)) }
            }
            var outcomes = [CheckOutcome](repeating: .failed, count: checks.count)
            for await (index, outcome) in group {
                outcomes[index] = outcome
            }
            return outcomes
        }
        var failing: [String] = []
        for (check, outcome) in zip(checks, outcomes) {
            switch outcome {
            case .passed: break
            case .failed: failing.append(check.name)
            case .timedOut: failing.append("\(check.name) (timed out)")
            }
        }
        return ReadinessReport(failing: failing)
    }
}

enum CheckOutcome: Sendable {
    case passed, failed, timedOut
}

/// Runs `check` in its own task and answers after at most `timeout`, whether or not the check has
/// returned: a check stuck on a dead socket must not hold the probe.
func runWithTimeout(_ check: ReadinessCheck, timeout: Duration) async -> CheckOutcome {
    let latch = OutcomeLatch()
    return await withCheckedContinuation { continuation in
        Task {
            await latch.arm(continuation)
            let work = Task { await check.isReady() }
            let timer = Task {
                try? await Task.sleep(for: timeout)
                if !Task.isCancelled {
                    await latch.resolve(.timedOut)
                    work.cancel()
                }
            }
            let passed = await work.value
            timer.cancel()
            await latch.resolve(passed ? .passed : .failed)
        }
    }
}

/// Resumes a continuation with the first outcome it is given and ignores the rest.
private actor OutcomeLatch {
    private var continuation: CheckedContinuation<CheckOutcome, Never>?

    func arm(_ continuation: CheckedContinuation<CheckOutcome, Never>) {
        self.continuation = continuation
    }

    func resolve(_ outcome: CheckOutcome) {
        self.continuation?.resume(returning: outcome)
        self.continuation = nil
    }
}

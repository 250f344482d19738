import EventModel
import Synchronization

/// Answers of plan steps that may be reused across jobs (OAuth tokens), per destination, for the
/// step's `cacheSeconds`.
///
/// An entry is keyed by destination, step name and the resolved request (so new credentials never
/// get an old token). Concurrent jobs that miss the same entry wait for the one fetch in progress
/// instead of each fetching (a token is fetched once for many events). A failed fetch (or a 2xx
/// that is not JSON) is not cached: its outcome goes to the waiting jobs, and the next job fetches
/// again. At most `capacity`
/// entries are kept (expired ones first, then the oldest answered ones are dropped); waiters are
/// bounded by the requests in flight. Keys and answers hold secrets: never log them.
public final class PlanAnswerCache: Sendable {
    public struct Key: Hashable, Sendable {
        public var destinationId: String
        public var step: String
        /// The resolved request, serialised.
        public var request: String

        public init(destinationId: String, step: String, request: String) {
            self.destinationId = destinationId
            self.step = step
            self.request = request
        }
    }

    /// A cached answer and the generation that identifies it (for ``invalidate(_:generation:)``).
    public struct Cached: Sendable {
        public var answer: JSON
        public var generation: UInt64
    }

    public typealias Outcome = Result<Cached, DeliveryFailure>

    private enum Entry {
        case ready(Cached, expires: ContinuousClock.Instant)
        case pending([CheckedContinuation<Outcome?, Never>])
    }

    private struct State {
        var entries: [Key: Entry] = [:]
        var nextGeneration: UInt64 = 1
    }

    public let capacity: Int
    private let state = Mutex(State())

    /// - Parameter capacity: entries kept at most (default 1,000; at least 1).
    public init(capacity: Int = 1000) { self.capacity = max(1, capacity) }

    /// Entries held (answered or being fetched).
    public var count: Int { state.withLock { $0.entries.count } }

    /// The cached answer of `key`, or the result of `fetch` (run by one caller at a time per key;
    /// the others wait for it), cached for `ttl` when it succeeds.
    public func answer(for key: Key, ttl: Duration, fetch: () async -> Result<JSON, DeliveryFailure>) async -> Outcome {
        enum Decision {
            case hit(Cached)
            case wait
            case fetch
        }
        while true {
            let now = ContinuousClock.now
            let decision: Decision = state.withLock { state in
                switch state.entries[key] {
                case .ready(let cached, let expires)? where expires > now: return .hit(cached)
                case .pending?: return .wait
                default:
                    state.entries[key] = .pending([])
                    Self.evict(&state, capacity: capacity, now: now)
                    return .fetch
                }
            }
            switch decision {
            case .hit(let cached):
                return .success(cached)
            case .wait:
                let outcome: Outcome? = await withCheckedContinuation { continuation in
                    let registered = state.withLock { state -> Bool in
                        guard case .pending(var waiters) = state.entries[key] else { return false }
                        waiters.append(continuation)
                        state.entries[key] = .pending(waiters)
                        return true
                    }
                    // The fetch ended in between: look again.
                    if !registered { continuation.resume(returning: nil) }
                }
                if let outcome { return outcome }
            case .fetch:
                let fetched = await fetch()
                let (outcome, waiters) = state.withLock { state -> (Outcome, [CheckedContinuation<Outcome?, Never>]) in
                    var waiters: [CheckedContinuation<Outcome?, Never>] = []
                    if case .pending(let pending)? = state.entries[key] { waiters = pending }
                    switch fetched {
                    case .success(let answer):
                        let cached = Cached(answer: answer, generation: state.nextGeneration)
                        state.nextGeneration += 1
                        // A 2xx that is not JSON (an HTML page, an empty body) is not kept for
                        // `ttl`: the jobs that got it fail naming the reference, later ones fetch again.
                        state.entries[key] = answer.isNull ? nil : .ready(cached, expires: .now + ttl)
                        return (.success(cached), waiters)
                    case .failure(let failure):
                        state.entries[key] = nil
                        return (.failure(failure), waiters)
                    }
                }
                for waiter in waiters { waiter.resume(returning: outcome) }
                return outcome
            }
        }
    }

    /// Drops `key`'s answer if it is still the one of `generation` (a later refresh is kept).
    public func invalidate(_ key: Key, generation: UInt64) {
        state.withLock { state in
            if case .ready(let cached, _)? = state.entries[key], cached.generation == generation { state.entries[key] = nil }
        }
    }

    /// Over capacity: drops expired answers, then the oldest answered ones (lowest generation).
    /// Entries being fetched stay (their waiters need them).
    private static func evict(_ state: inout State, capacity: Int, now: ContinuousClock.Instant) {
        guard state.entries.count > capacity else { return }
        for (key, entry) in state.entries {
            if case .ready(_, let expires) = entry, expires <= now { state.entries[key] = nil }
        }
        guard state.entries.count > capacity else { return }
        let answered = state.entries.compactMap { key, entry -> (Key, UInt64)? in
            if case .ready(let cached, _) = entry { return (key, cached.generation) }
            return nil
        }
        for (key, _) in answered.sorted(by: { $0.1 < $1.1 }).prefix(state.entries.count - capacity) {
            state.entries[key] = nil
        }
    }
}

/// A failed fetch is the `Result` failure of a cached step's answer.
extension DeliveryFailure: Error {}

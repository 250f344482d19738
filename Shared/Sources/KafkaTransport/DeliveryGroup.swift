import Synchronization

/// Waits for the delivery reports of a set of produced messages with one continuation.
///
/// Every message of the set carries the same retained pointer to the group as its opaque; the
/// delivery-report callback counts them down. The sender registers its continuation after
/// enqueueing everything; whichever comes last (the final report or the registration) resumes it.
final class DeliveryGroup: Sendable {
    private struct State {
        var remaining: Int
        var firstError: KafkaError?
        var continuation: UnsafeContinuation<KafkaError?, Never>?
        var finished = false
        /// Set when the sender stopped waiting before every report arrived.
        var expiredWith: KafkaError?
    }

    private let state: Mutex<State>

    init(count: Int) {
        state = Mutex(State(remaining: count))
    }

    /// Records the outcome of one message. Returns true when it was the last one.
    @discardableResult
    func complete(error: KafkaError?) -> Bool {
        let (last, continuation, result) = state.withLock { state in
            if state.firstError == nil, let error { state.firstError = error }
            state.remaining -= 1
            guard state.remaining == 0 else {
                return (false, UnsafeContinuation<KafkaError?, Never>?.none, KafkaError?.none)
            }
            state.finished = true
            defer { state.continuation = nil }
            return (true, state.continuation, state.firstError)
        }
        continuation?.resume(returning: result)
        return last
    }

    /// Records that `count` messages were never enqueued.
    func fail(count: Int, error: KafkaError) -> Bool {
        var last = false
        for _ in 0..<count { last = complete(error: error) }
        return last
    }

    /// Stops the wait early with `error` unless every report already arrived. Reports that come
    /// later are still counted (they release the group) but resume nobody.
    func expire(error: KafkaError) {
        let continuation = state.withLock { state -> UnsafeContinuation<KafkaError?, Never>? in
            guard !state.finished, state.expiredWith == nil else { return nil }
            state.expiredWith = error
            defer { state.continuation = nil }
            return state.continuation
        }
        continuation?.resume(returning: error)
    }

    /// Suspends until every message has a delivery report (or the wait expired); returns the
    /// first error, if any.
    func wait() async -> KafkaError? {
        await withUnsafeContinuation { continuation in
            let immediate: KafkaError?? = state.withLock { state in
                if state.finished { return .some(state.firstError) }
                if let expired = state.expiredWith { return .some(expired) }
                state.continuation = continuation
                return .none
            }
            if let immediate { continuation.resume(returning: immediate) }
        }
    }
}

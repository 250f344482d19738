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

    /// Suspends until every message has a delivery report; returns the first error, if any.
    func wait() async -> KafkaError? {
        await withUnsafeContinuation { continuation in
            let immediate: KafkaError?? = state.withLock { state in
                if state.finished { return .some(state.firstError) }
                state.continuation = continuation
                return .none
            }
            if let immediate { continuation.resume(returning: immediate) }
        }
    }
}

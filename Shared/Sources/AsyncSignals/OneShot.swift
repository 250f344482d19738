import Synchronization

/// A value set once and awaited by any number of tasks.
///
/// Later ``fire(_:)`` calls are ignored, so several parties may race to end something (a probe
/// and its timer, a stop request and a failure) and the first one wins.
public final class OneShot<Value: Sendable>: Sendable {
    private struct State {
        var value: Value?
        var waiters: [UnsafeContinuation<Value, Never>] = []
    }

    private let state = Mutex(State())

    public init() {}

    /// Sets the value if it is not set yet; returns whether this call set it.
    @discardableResult
    public func fire(_ value: Value) -> Bool {
        let waiters: [UnsafeContinuation<Value, Never>]? = state.withLock { state in
            guard state.value == nil else { return nil }
            state.value = value
            defer { state.waiters = [] }
            return state.waiters
        }
        guard let waiters else { return false }
        for waiter in waiters { waiter.resume(returning: value) }
        return true
    }

    /// The value, if set.
    public var value: Value? { state.withLock { $0.value } }

    /// Waits until the value is set and returns it.
    public func wait() async -> Value {
        await withUnsafeContinuation { continuation in
            let value: Value? = state.withLock { state in
                if let value = state.value { return value }
                state.waiters.append(continuation)
                return nil
            }
            if let value { continuation.resume(returning: value) }
        }
    }
}

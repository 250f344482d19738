import CRdKafka
import Foundation
import Synchronization

/// A dedicated thread serving a client's main queue with `rd_kafka_poll` (delivery reports,
/// errors). It blocks in librdkafka for up to 100 ms at a time and wakes as soon as an event
/// arrives, so it neither spins when idle nor delays reports.
final class PollThread: Sendable {
    private let stopped = Atomic<Bool>(false)
    private let finished = OneShot<Void>()

    init(client: RdKafkaClient, name: String) {
        let thread = Thread { [self] in
            while !stopped.load(ordering: .acquiring) {
                rd_kafka_poll(client.handle, 100)
            }
            finished.fire(())
            // `client` is released here; when it is the last reference the handle is destroyed
            // on this thread rather than on the cooperative pool.
        }
        thread.name = name
        thread.start()
    }

    /// Asks the thread to stop after its current poll.
    func stop() {
        stopped.store(true, ordering: .releasing)
    }

    /// Stops the thread and waits until it has left its loop.
    func stopAndWait() async {
        stop()
        await finished.wait()
    }
}

/// A value set once and awaited by any number of tasks.
final class OneShot<Value: Sendable>: Sendable {
    private struct State {
        var value: Value?
        var waiters: [UnsafeContinuation<Value, Never>] = []
    }

    private let state = Mutex(State())

    /// Sets the value if it is not set yet; returns whether this call set it.
    @discardableResult
    func fire(_ value: Value) -> Bool {
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

    var value: Value? { state.withLock { $0.value } }

    func wait() async -> Value {
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

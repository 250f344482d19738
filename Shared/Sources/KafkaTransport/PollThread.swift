import AsyncSignals
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

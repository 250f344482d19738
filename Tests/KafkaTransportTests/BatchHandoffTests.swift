@testable import KafkaTransport
import XCTest

/// The consumer's handoff state machine, without sockets or threads.
final class BatchHandoffTests: XCTestCase {
    typealias Handoff = BatchHandoff<[Int]>

    /// Calls `next` with a continuation that is resumed at once (for cases that do not suspend).
    private func next(_ handoff: inout Handoff) async -> Handoff.NextAction {
        var action: Handoff.NextAction?
        _ = await withUnsafeContinuation { (continuation: UnsafeContinuation<[Int]?, Never>) in
            action = handoff.next(continuation)
            continuation.resume(returning: nil)
        }
        return action!
    }

    func testBufferIsBoundedAndTheWriterWaitsForTheReader() async {
        var handoff = Handoff(capacity: 1)
        guard case .buffered = handoff.push([1]) else { return XCTFail("first batch is buffered") }
        guard case .waitAndRetry = handoff.push([2]) else { return XCTFail("a full buffer makes the writer wait") }
        XCTAssertEqual(handoff.buffered, [[1]])
        guard case .batch(let batch, let signal) = await next(&handoff) else { return XCTFail("reader gets the batch") }
        XCTAssertEqual(batch, [1])
        XCTAssertTrue(signal, "the waiting writer is woken")
        guard case .buffered = handoff.push([2]) else { return XCTFail("the retried push fits now") }
    }

    func testAWaitingReaderGetsTheBatchDirectly() async {
        var handoff = Handoff(capacity: 1)
        let result: [Int]? = await withUnsafeContinuation { continuation in
            guard case .suspended = handoff.next(continuation) else {
                XCTFail("reader waits on an empty buffer")
                return continuation.resume(returning: nil)
            }
            guard case .resumeReader(let reader, let batch) = handoff.push([7]) else {
                XCTFail("push goes to the reader")
                return continuation.resume(returning: nil)
            }
            reader.resume(returning: batch)
        }
        XCTAssertEqual(result, [7])
        XCTAssertTrue(handoff.readerHoldsBatch)
    }

    func testFinishEndsTheReaderAndDropsBufferedBatches() async {
        var handoff = Handoff(capacity: 2)
        _ = handoff.push([1])
        guard case .none = handoff.finish() else { return XCTFail("nobody to wake") }
        XCTAssertTrue(handoff.buffered.isEmpty)
        guard case .dropped = handoff.push([2]) else { return XCTFail("no batches after finish") }
        guard case .end(let signal) = await next(&handoff) else { return XCTFail("reader sees the end") }
        XCTAssertFalse(signal)
    }

    func testDrainWaitsOnlyWhileTheReaderHoldsABatch() async {
        var handoff = Handoff(capacity: 1)
        XCTAssertFalse(handoff.writerShouldWaitForReader(), "no batch handed out: nothing to wait for")
        _ = handoff.push([1])
        _ = await next(&handoff)
        _ = handoff.finish()
        XCTAssertTrue(handoff.writerShouldWaitForReader(), "the reader is processing [1]")
        guard case .end(let signal) = await next(&handoff) else { return XCTFail("asking for more ends the drain") }
        XCTAssertTrue(signal, "the draining writer is woken")
    }

    func testRevokedMessagesAreRemovedFromTheBuffer() {
        var handoff = Handoff(capacity: 2)
        _ = handoff.push([1, 2, 3])
        _ = handoff.push([4])
        handoff.removeMessages { $0 % 2 == 0 || $0 == 1 }
        XCTAssertEqual(handoff.buffered, [[3]])
    }
}

import BatchRouterService
import KafkaTransport
import XCTest

/// The commit position of a partition is its lowest offset still waiting for a flush, whichever
/// destination holds it; flushes finish in any order.
final class OffsetBookTests: XCTestCase {
    let p0 = TopicPartition(topic: "keel.batch", partition: 0)
    let p1 = TopicPartition(topic: "keel.batch", partition: 1)

    func testTheLowestUnflushedOffsetAcrossDestinationsBoundsThePosition() {
        var book = OffsetBook()
        // Destination A holds 10, 12, 14; destination B holds 11, 13.
        for offset in Int64(10)...14 { book.consumed(p0, offset: offset, durable: false) }
        XCTAssertEqual(book.position(p0), 10)
        XCTAssertEqual(book.takeAdvanced(), [:], "nothing durable yet")

        book.settled([p0: [10, 12, 14]])  // A flushed
        XCTAssertEqual(book.position(p0), 11, "B's 11 still waits")
        XCTAssertEqual(book.takeAdvanced(), [p0: 11])
        XCTAssertEqual(book.takeAdvanced(), [:], "reported once")

        book.settled([p0: [11, 13]])  // B flushed
        XCTAssertEqual(book.position(p0), 15)
        XCTAssertEqual(book.takeAdvanced(), [p0: 15])
        XCTAssertEqual(book.pendingCount, 0)
    }

    func testALaterFlushDoesNotMovePastAnEarlierPendingOffset() {
        var book = OffsetBook()
        for offset in Int64(0)..<6 { book.consumed(p0, offset: offset, durable: false) }
        book.settled([p0: [3, 4, 5]])
        XCTAssertEqual(book.position(p0), 0)
        XCTAssertEqual(book.takeAdvanced(), [:])
        book.settled([p0: [0, 1]])
        XCTAssertEqual(book.takeAdvanced(), [p0: 2])
        book.settled([p0: [2]])
        XCTAssertEqual(book.takeAdvanced(), [p0: 6])
    }

    func testMessagesWithNothingToWaitForAdvanceOnlyBehindPendingOnes() {
        var book = OffsetBook()
        book.consumed(p0, offset: 0, durable: true)
        book.consumed(p0, offset: 1, durable: true)
        XCTAssertEqual(book.takeAdvanced(), [p0: 2])
        book.consumed(p0, offset: 2, durable: false)
        book.consumed(p0, offset: 3, durable: true)
        XCTAssertEqual(book.takeAdvanced(), [:], "3 is durable but 2 is not")
        book.settled([p0: [2]])
        XCTAssertEqual(book.takeAdvanced(), [p0: 4])
    }

    func testPartitionsAreIndependent() {
        var book = OffsetBook()
        book.consumed(p0, offset: 5, durable: false)
        book.consumed(p1, offset: 7, durable: false)
        book.settled([p1: [7]])
        XCTAssertEqual(book.takeAdvanced(), [p1: 8])
        XCTAssertEqual(book.position(p0), 5)
    }

    func testARevokedPartitionIsForgottenAndStaleFlushesAreIgnored() {
        var book = OffsetBook()
        book.consumed(p0, offset: 0, durable: false)
        book.consumed(p0, offset: 1, durable: false)
        book.revoke([p0])
        XCTAssertNil(book.position(p0))
        book.settled([p0: [0, 1]])
        XCTAssertNil(book.position(p0), "a flush finishing after the revoke does not recreate the partition")

        // Assigned again from offset 1 (0 was committed by the next owner meanwhile).
        book.consumed(p0, offset: 1, durable: false)
        book.settled([p0: [0]])  // a stale settlement below the new base
        XCTAssertEqual(book.position(p0), 1)
        book.settled([p0: [1]])
        XCTAssertEqual(book.takeAdvanced(), [p0: 2])
    }

    func testManyOffsetsKeepTheirOrderAcrossCompaction() {
        var book = OffsetBook()
        for offset in Int64(0)..<10_000 { book.consumed(p0, offset: offset, durable: false) }
        book.settled([p0: Array(0..<5_000)])
        XCTAssertEqual(book.takeAdvanced(), [p0: 5_000])
        book.settled([p0: Array(6_000..<10_000)])
        XCTAssertEqual(book.takeAdvanced(), [:])
        book.settled([p0: Array(5_000..<6_000)])
        XCTAssertEqual(book.takeAdvanced(), [p0: 10_000])
        XCTAssertEqual(book.pendingCount, 0)
    }
}

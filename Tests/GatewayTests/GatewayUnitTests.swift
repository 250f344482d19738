import Synchronization
import XCTest

@testable import GatewayService

/// The rate limiter's token buckets, gzip inflation bounds and Basic auth parsing, without sockets.
final class GatewayUnitTests: XCTestCase {
    private final class FakeClock: Sendable {
        let now = Mutex<Duration>(.zero)
        func advance(_ duration: Duration) { now.withLock { $0 += duration } }
    }

    func testTokenBucketAdmitsTheRateAndSaysWhenToRetry() {
        let clock = FakeClock()
        let limiter = RateLimiter(clock: { clock.now.withLock { $0 } })
        let source = GatewaySource(workspaceId: "w", id: "s", name: "s", writeKey: "k", eventsPerSecond: 10)
        for _ in 0..<10 { XCTAssertEqual(limiter.admit(events: 1, source: source), .admitted) }
        XCTAssertEqual(limiter.admit(events: 1, source: source), .limited(retryAfterSeconds: 1))
        clock.advance(.milliseconds(150))
        XCTAssertEqual(limiter.admit(events: 1, source: source), .admitted, "1.5 tokens refilled")
        // A batch bigger than the rate passes once, then the debt is repaid before the next.
        clock.advance(.seconds(5))
        XCTAssertEqual(limiter.admit(events: 35, source: source), .admitted)
        XCTAssertEqual(limiter.admit(events: 1, source: source), .limited(retryAfterSeconds: 3))
        clock.advance(.seconds(2))
        XCTAssertEqual(limiter.admit(events: 1, source: source), .limited(retryAfterSeconds: 1))
        clock.advance(.seconds(1))
        XCTAssertEqual(limiter.admit(events: 1, source: source), .admitted)
        let unlimited = GatewaySource(workspaceId: "w", id: "u", name: "u", writeKey: "u")
        for _ in 0..<1000 { XCTAssertEqual(limiter.admit(events: 100, source: unlimited), .admitted) }
    }

    func testWorkspaceLimitIsSharedBySourcesAndARefusalTakesNothing() {
        let clock = FakeClock()
        let limiter = RateLimiter(clock: { clock.now.withLock { $0 } })
        let a = GatewaySource(workspaceId: "w", id: "a", name: "a", writeKey: "a", eventsPerSecond: 100, workspaceEventsPerSecond: 10)
        let b = GatewaySource(workspaceId: "w", id: "b", name: "b", writeKey: "b", workspaceEventsPerSecond: 10)
        XCTAssertEqual(limiter.admit(events: 10, source: a), .admitted)
        XCTAssertEqual(limiter.admit(events: 1, source: b), .limited(retryAfterSeconds: 1))
        clock.advance(.seconds(1))
        XCTAssertEqual(limiter.admit(events: 5, source: b), .admitted)
        XCTAssertEqual(limiter.admit(events: 5, source: a), .admitted, "the refused request above took no tokens")
    }

    func testInflateRespectsTheLimitWhileInflating() throws {
        let text = Array(String(repeating: "keel ", count: 10_000).utf8)
        let compressed = Req.gzip(text)
        let inflated = try compressed.withUnsafeBytes { try GzipInflater.inflate($0, limit: text.count) }
        XCTAssertEqual(inflated, text, "exactly at the limit is fine")
        XCTAssertThrowsError(try compressed.withUnsafeBytes { try GzipInflater.inflate($0, limit: text.count - 1) }) {
            XCTAssertEqual($0 as? InflateError, .tooLarge(limit: text.count - 1))
        }
        XCTAssertThrowsError(try Array("not gzip".utf8).withUnsafeBytes { try GzipInflater.inflate($0, limit: 1000) }) {
            XCTAssertEqual($0 as? InflateError, .corrupt)
        }
        XCTAssertThrowsError(try Array(compressed.dropLast(4)).withUnsafeBytes { try GzipInflater.inflate($0, limit: 1 << 20) }) {
            XCTAssertEqual($0 as? InflateError, .corrupt)
        }
        let empty = Req.gzip([])
        XCTAssertEqual(try empty.withUnsafeBytes { try GzipInflater.inflate($0, limit: 10) }, [])
    }

    func testBasicAuthUsernameIsTheWriteKey() {
        XCTAssertEqual(RequestIdentity.basicUsername(Req.basic("wk-1")), "wk-1")
        XCTAssertEqual(RequestIdentity.basicUsername("basic " + Req.base64(Array("k:secret".utf8))), "k")
        XCTAssertEqual(RequestIdentity.basicUsername("Basic " + Req.base64(Array("only-key".utf8))), "only-key")
        XCTAssertNil(RequestIdentity.basicUsername("Bearer abc"))
        XCTAssertNil(RequestIdentity.basicUsername("Basic ***"))
    }
}

import EventModel
import Foundation
import KafkaTransport
import RouterService
import XCTest

/// Delivery jobs sealed at rest in `router.parked` and `router.failed` (`KEEL_STORED_JOB_KEYS`).
final class JobSealerTests: XCTestCase {
    static let key1 = [UInt8](repeating: 7, count: 32)
    static let key2 = (0..<32).map { UInt8($0) }
    let job = Array(#"{"requests":[{"headers":{"Authorization":"Bearer secret-token-123"}}]}"#.utf8)

    func testSealedTextHidesTheJobAndOpensBackWithTheKey() throws {
        let sealer = try JobSealer(keys: [Self.key1])
        let sealed = sealer.seal(job)
        XCTAssertTrue(sealed.hasPrefix(JobSealer.prefix + sealer.sealingKeyID + ":"))
        XCTAssertFalse(sealed.contains("secret-token"))
        XCTAssertNotEqual(sealer.seal(job), sealed, "a fresh nonce each time")
        XCTAssertEqual(try sealer.open(sealed), job)
        XCTAssertEqual(try sealer.open(String(decoding: job, as: UTF8.self)), job, "rows stored before sealing read as they are")
    }

    func testRotationOpensRowsOfTheOldKeyAndSealsWithTheNewOne() throws {
        let old = try JobSealer(keys: [Self.key1])
        let rotated = try JobSealer(keys: [Self.key2, Self.key1])
        XCTAssertEqual(try rotated.open(old.seal(job)), job)
        XCTAssertNotEqual(rotated.sealingKeyID, old.sealingKeyID)
        let onlyNew = try JobSealer(keys: [Self.key2])
        XCTAssertThrowsError(try onlyNew.open(old.seal(job))) { error in
            XCTAssertEqual(error as? JobSealerError, .unknownKey(id: old.sealingKeyID))
        }
        var tampered = Array(old.seal(job).utf8)
        tampered[tampered.count - 3] = tampered[tampered.count - 3] == UInt8(ascii: "A") ? UInt8(ascii: "B") : UInt8(ascii: "A")
        XCTAssertThrowsError(try old.open(String(decoding: tampered, as: UTF8.self))) { error in
            XCTAssertEqual(error as? JobSealerError, .malformed)
        }
    }

    func testEnvironmentValue() throws {
        XCTAssertNil(try JobSealer(environmentValue: nil))
        XCTAssertNil(try JobSealer(environmentValue: " "))
        let value = Data(Self.key2).base64EncodedString() + ", " + Data(Self.key1).base64EncodedString()
        let sealer = try XCTUnwrap(JobSealer(environmentValue: value))
        XCTAssertEqual(sealer.sealingKeyID, try JobSealer(keys: [Self.key2]).sealingKeyID)
        XCTAssertThrowsError(try JobSealer(environmentValue: "bm90LTMyLWJ5dGVz")) { error in
            XCTAssertEqual("\(error)", "KEEL_STORED_JOB_KEYS: key 1 is not base64 of 32 bytes", "names the position, not the value")
        }
    }

    /// With sealing on, a parked backlog and a failed event hold no credential in Postgres; both are
    /// delivered with their original headers (after recovery, and after a replay).
    func testParkedAndFailedJobsAreSealedInPostgresAndSentIntact() async throws {
        let harness = try await RouterHarness.make()
        defer { Task { await harness.shutdown() } }
        let sealer = try JobSealer(keys: [Self.key1])
        harness.sink.set("s", .status(503))
        harness.sink.set("t", .status(400))
        let running = try harness.startRouter(limits: .init(maxQueuedPerKey: 2), sealer: sealer)
        defer { Task { await running.kill() } }
        var messages = (0..<20).map { harness.job(destination: "s", user: "u\($0 % 2)", messageId: "s-\($0)") }
        messages.append(harness.job(destination: "t", user: "u1", messageId: "t-1"))
        try await harness.produce(messages)
        try await harness.waitUntil("the backlog is parked and the 400 failed") {
            let parked = try await harness.parkedRowCount(destination: "s")
            let failed = try await harness.failedEvents.list(.init(destinationId: "t"))
            return parked == 16 && failed.count == 1
        }
        let stored = try await harness.storedJobTexts()
        XCTAssertEqual(stored.count, 17)
        XCTAssertTrue(stored.allSatisfy { $0.hasPrefix(JobSealer.prefix) }, "every stored job is sealed")
        XCTAssertFalse(stored.contains { $0.contains("secret-token") }, "no credential in Postgres")

        harness.sink.set("s", .ok)
        harness.sink.set("t", .ok)
        try await harness.waitUntil("the backlog delivered") { Set(harness.sink.delivered("s").map(\.messageId)).count == 20 }
        let failed = try await harness.failedEvents.list(.init(destinationId: "t"))
        let replayed = try await harness.failedEvents.replay(.init(ids: failed.map(\.id)))
        XCTAssertEqual(replayed, 1)
        try await harness.waitUntil("the replay delivered") { !harness.sink.delivered("t").isEmpty }
        let sent = harness.sink.delivered("s") + harness.sink.delivered("t")
        XCTAssertTrue(sent.allSatisfy { $0.authorization == "Bearer secret-token-123" }, "headers sent as mapped")
    }

    /// A parked row sealed with a key the router does not hold is not lost: it moves to failed
    /// events, naming the key, and the key's later jobs go on.
    func testARowSealedWithAnUnknownKeyMovesToFailedEvents() async throws {
        let harness = try await RouterHarness.make()
        defer { Task { await harness.shutdown() } }
        let other = try JobSealer(keys: [Self.key2])
        let job = harness.job(destination: "v", user: "u1", messageId: "v-0")
        try await harness.insertParked(destination: "v", user: "u1", text: other.seal(job.value))
        let running = try harness.startRouter(sealer: try JobSealer(keys: [Self.key1]))
        defer { Task { await running.kill() } }
        try await harness.produce([harness.job(destination: "v", user: "u1", messageId: "v-1")])
        try await harness.waitUntil("the next job delivered") { harness.sink.delivered("v").map(\.messageId) == ["v-1"] }
        let failed = try await harness.failedEvents.list(.init(destinationId: "v"))
        XCTAssertEqual(failed.count, 1)
        XCTAssertTrue(failed.first?.reason.contains(other.sealingKeyID) == true, "\(failed.first?.reason ?? "")")
        let left = try await harness.parkedRowCount(destination: "v")
        XCTAssertEqual(left, 0)
    }
}

import Logging
import ServiceLifecycle
import ServiceRuntime
import XCTest

final class StartupStepTests: XCTestCase {
    func testReadyOnlyAfterTheWorkFinishesAndStaysUntilShutdown() async throws {
        let (gate, open) = AsyncStream.makeStream(of: Void.self)
        let step = StartupStep("migrations") {
            for await _ in gate { break }
        }
        let readiness = Readiness(checks: [step.readinessCheck], cacheDuration: .zero, logger: quietLogger)
        let group = ServiceGroup(configuration: .keel(services: [step], logger: quietLogger))
        let running = Task { try await group.run() }

        let before = await readiness.evaluate()
        XCTAssertEqual(before.failing, ["migrations"])
        open.yield()
        var completed = false
        for _ in 0..<200 where !completed {
            completed = await step.isComplete
            if !completed { try await Task.sleep(for: .milliseconds(10)) }
        }
        let after = await readiness.evaluate()
        XCTAssertTrue(after.isReady)

        // Finishing its work must not end the group; only shutdown does.
        try await Task.sleep(for: .milliseconds(100))
        await group.triggerGracefulShutdown()
        try await running.value
    }

    func testFailingWorkEndsTheGroupWithTheError() async throws {
        struct MigrationFailed: Error {}
        let step = StartupStep("migrations") { throw MigrationFailed() }
        let group = ServiceGroup(configuration: .keel(services: [step], logger: quietLogger))
        do {
            try await group.run()
            XCTFail("the group must end with the step's error")
        } catch {
            XCTAssertTrue(error is MigrationFailed, "\(error)")
        }
        let complete = await step.isComplete
        XCTAssertFalse(complete)
    }
}

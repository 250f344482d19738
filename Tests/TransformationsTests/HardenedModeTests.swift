import Foundation
import Transformations
import XCTest

/// Hardened mode: the same engine in `keel-transform-worker` child processes.
final class HardenedModeTests: XCTestCase {
    private func hardenedConfiguration() throws -> TransformationEngine.Configuration {
        let directory = Bundle.main.executableURL?.deletingLastPathComponent()
            ?? URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        let executable = directory.appendingPathComponent("keel-transform-worker").path
        guard FileManager.default.isExecutableFile(atPath: executable) else {
            throw XCTSkip("keel-transform-worker not built next to the tests (\(executable))")
        }
        var configuration = TransformationEngine.Configuration()
        configuration.workers = 1
        configuration.timeLimit = .milliseconds(300)
        configuration.isolation = .workerProcesses(executable: executable)
        return configuration
    }

    func testWorkerProcessTransformsWithTheSameContractAndLimits() async throws {
        try await withEngine(try hardenedConfiguration()) { engine in
            let emails = ["alex@rudderlabs.com", "sam@example.com"]
            let outcomes = await engine.transform(
                emails.map { input(#"{"messageId":"\#($0)","context":{"traits":{"email":"\#($0)"}}}"#) },
                transformation: TransformationEngineTests.emailFilter, libraries: [TransformationEngineTests.isRudderEmail])
            XCTAssertTrue(outcomes[0].isDropped)
            XCTAssertEqual(try outcomes[1].singleEvent()["messageId"] as? String, "sam@example.com")

            let code = TransformationCode(
                id: "mixed",
                code: """
                    export function transformEvent(event) {
                      log("in child", event.n);
                      if (event.spin) while (true) {}
                      if (event.bad) throw new RangeError("bad " + event.n);
                      return [event, event];
                    }
                    """)
            let mixed = await engine.transform(
                [input(#"{"n":1}"#), input(#"{"n":2,"spin":true}"#), input(#"{"n":3,"bad":true}"#)], transformation: code)
            XCTAssertEqual(try mixed[0].events().count, 2)
            XCTAssertEqual(mixed[0].logs, ["in child 1"])
            XCTAssertEqual(try mixed[1].error().code, .timeout)
            let error = try mixed[2].error()
            XCTAssertEqual(error.code, .exception)
            XCTAssertEqual(error.message, "RangeError: bad 3")
            XCTAssertEqual(error.line, 4)
        }
    }

    func testAWorkerProcessThatDiesIsRestarted() async throws {
        try await withEngine(try hardenedConfiguration()) { engine in
            let code = TransformationCode(id: "echo", code: "export function transformEvent(e) { return e; }")
            let first = await engine.transform([input(#"{"n":1}"#)], transformation: code)
            XCTAssertEqual(try first[0].singleEvent()["n"] as? Int, 1)

            let workers = childProcesses(named: "keel-transform-")
            XCTAssertEqual(workers.count, 1)
            for pid in workers { kill(pid, SIGKILL) }

            let during = await engine.transform([input(#"{"n":2}"#)], transformation: code)
            if case .failed(let error) = during[0].result {
                XCTAssertEqual(error.code, .engine)
                XCTAssertTrue(error.isRetryable)
            }
            let after = await engine.transform([input(#"{"n":3}"#)], transformation: code)
            XCTAssertEqual(try after[0].singleEvent()["n"] as? Int, 3)
            XCTAssertFalse(childProcesses(named: "keel-transform-").contains { workers.contains($0) })
        }
    }
}

/// Pids of this process's children whose command name starts with `prefix`.
func childProcesses(named prefix: String) -> [pid_t] {
    let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task")) ?? []
    var pids: Set<pid_t> = []
    for task in tasks {
        guard let text = try? String(contentsOfFile: "/proc/self/task/\(task)/children", encoding: .utf8) else { continue }
        for field in text.split(separator: " ") {
            guard let pid = pid_t(field.trimmingCharacters(in: .whitespacesAndNewlines)) else { continue }
            let comm = (try? String(contentsOfFile: "/proc/\(pid)/comm", encoding: .utf8)) ?? ""
            if comm.hasPrefix(prefix) { pids.insert(pid) }
        }
    }
    return Array(pids)
}

import Foundation
import Transformations
import XCTest

final class TransformationEngineTests: XCTestCase {
    static let isRudderEmail = LibraryCode(
        name: "isRudderEmail",
        code: """
            export function rudderEmail(email) {
              return /@(rudderlabs|rudderstack)|\\+ruddertest/.test(email);
            }
            """)
    static let emailFilter = TransformationCode(
        id: "email-filter",
        code: """
            import { rudderEmail } from "isRudderEmail";
            export function transformEvent(event, metadata) {
              const email = event.context && event.context.traits && event.context.traits.email;
              if (email && rudderEmail(email)) return null;
              return event;
            }
            """)

    func testEmailFilterDropsRudderEmailsAndKeepsOthers() async throws {
        try await withEngine { engine in
            let emails = ["alex@rudderlabs.com", "sam@example.com", "kim+ruddertest@gmail.com", "lee@rudderstack.com"]
            let inputs = emails.enumerated().map { index, email in
                input(#"{"type":"identify","messageId":"m\#(index)","context":{"traits":{"email":"\#(email)"}}}"#)
            }
            let outcomes = await engine.transform(
                inputs, transformation: Self.emailFilter, libraries: [Self.isRudderEmail])
            XCTAssertEqual(outcomes.count, 4)
            XCTAssertTrue(outcomes[0].isDropped)
            XCTAssertEqual(try outcomes[1].singleEvent()["messageId"] as? String, "m1")
            XCTAssertTrue(outcomes[2].isDropped)
            XCTAssertTrue(outcomes[3].isDropped)
        }
    }

    func testFanOutDropAndMetadata() async throws {
        try await withEngine { engine in
            let code = TransformationCode(
                id: "fanout",
                code: """
                    export function transformEvent(event, metadata) {
                      if (event.type === "identify") return undefined;
                      const md = metadata(event);
                      event.sourceId = md.sourceId;
                      event.destinationType = md.destinationType;
                      event.workspaceId = md.workspaceId;
                      return [event, { ...event, event: event.event + " copy" }, null];
                    }
                    """)
            let metadata = TransformMetadata(
                sourceId: "src-1", sourceType: "web", destinationId: "dst-1", destinationType: "WEBHOOK",
                messageId: "m1", workspaceId: "ws-1")
            let outcomes = await engine.transform(
                [
                    TransformInput(event: bytes(#"{"type":"track","event":"Order Completed","messageId":"m1"}"#), metadata: metadata),
                    input(#"{"type":"identify","messageId":"m2"}"#),
                ], transformation: code)
            let events = try outcomes[0].events()
            XCTAssertEqual(events.count, 2)
            XCTAssertEqual(events[0]["sourceId"] as? String, "src-1")
            XCTAssertEqual(events[0]["destinationType"] as? String, "WEBHOOK")
            XCTAssertEqual(events[0]["workspaceId"] as? String, "ws-1")
            XCTAssertEqual(events[1]["event"] as? String, "Order Completed copy")
            XCTAssertTrue(outcomes[1].isDropped)
        }
    }

    func testAsyncTransformEvent() async throws {
        try await withEngine { engine in
            let code = TransformationCode(
                id: "async",
                code: """
                    async function enrich(e) { await null; return { ...e, enriched: true }; }
                    export async function transformEvent(event) {
                      const out = await enrich(event);
                      if (event.reject) throw new TypeError("rejected on purpose");
                      return out;
                    }
                    """)
            let outcomes = await engine.transform(
                [input(#"{"messageId":"a"}"#), input(#"{"messageId":"b","reject":true}"#)], transformation: code)
            XCTAssertEqual(try outcomes[0].singleEvent()["enriched"] as? Bool, true)
            let error = try outcomes[1].error()
            XCTAssertEqual(error.code, .exception)
            XCTAssertTrue(error.message.contains("rejected on purpose"), error.message)
            XCTAssertEqual(error.line, 4)
        }
    }

    func testTransformBatchMapsOutputsToInputsByMessageId() async throws {
        try await withEngine { engine in
            let code = TransformationCode(
                id: "batch",
                code: """
                    export function transformBatch(events, metadata) {
                      log("batch of", events.length);
                      return events
                        .filter(e => e.keep)
                        .map(e => ({ ...e, destinationId: metadata(e).destinationId }));
                    }
                    """)
            let inputs = (0..<5).map { index in
                TransformInput(
                    event: bytes(#"{"messageId":"m\#(index)","keep":\#(index % 2 == 0)}"#),
                    metadata: TransformMetadata(destinationId: "d\(index)", messageId: "m\(index)"))
            }
            let outcomes = await engine.transform(inputs, transformation: code)
            XCTAssertEqual(outcomes.count, 5)
            for index in [0, 2, 4] {
                let event = try outcomes[index].singleEvent()
                XCTAssertEqual(event["messageId"] as? String, "m\(index)")
                XCTAssertEqual(event["destinationId"] as? String, "d\(index)")
            }
            for index in [1, 3] { XCTAssertTrue(outcomes[index].isDropped) }
            XCTAssertEqual(outcomes[0].logs, ["batch of 5"])
        }
    }

    func testErrorsCarryMessageFileAndLineAndOtherEventsGoOn() async throws {
        try await withEngine { engine in
            let code = TransformationCode(
                id: "thrower",
                code: """
                    export function transformEvent(event) {
                      if (event.bad) {
                        throw new Error("bad event " + event.messageId);
                      }
                      if (event.number) return 42;
                      return event;
                    }
                    """)
            let outcomes = await engine.transform(
                [input(#"{"messageId":"x","bad":true}"#), input(#"{"messageId":"y"}"#), input(#"{"number":1}"#), input("not json")],
                transformation: code)
            let error = try outcomes[0].error()
            XCTAssertEqual(error.code, .exception)
            XCTAssertEqual(error.message, "Error: bad event x")
            XCTAssertEqual(error.file, "thrower")
            XCTAssertEqual(error.line, 3)
            XCTAssertTrue(error.stack?.contains("transformEvent@thrower:3") == true, error.stack ?? "no stack")
            XCTAssertEqual(try outcomes[1].singleEvent()["messageId"] as? String, "y")
            XCTAssertEqual(try outcomes[2].error().code, .invalidOutput)
            XCTAssertEqual(try outcomes[3].error().code, .engine)
        }
    }

    func testOutputTextIsJSONStringifyInUTF8() async throws {
        try await withEngine { engine in
            let code = TransformationCode(
                id: "text",
                code: """
                    export function transformEvent(event) {
                      if (event.kind === "date") return { at: new Date(Date.UTC(2024, 4, 1)), skip: undefined, f() {} };
                      if (event.kind === "string") return { toJSON() { return "not an event"; } };
                      if (event.kind === "nested") return [[event]];
                      event.added = "caf\\u00e9 \\u{1F600} \\ud800 end";
                      return event;
                    }
                    """)
            let outcomes = await engine.transform(
                [
                    input(#"{"name":"Zoë Łukasz 東京","kind":"text"}"#), input(#"{"kind":"date"}"#),
                    input(#"{"kind":"string"}"#), input(#"{"kind":"nested"}"#),
                ],
                transformation: code)
            // Input characters come back as UTF-8, a lone surrogate escaped as JSON.stringify does.
            XCTAssertEqual(try outcomes[0].texts(), [#"{"name":"Zoë Łukasz 東京","kind":"text","added":"café 😀 \ud800 end"}"#])
            XCTAssertEqual(try outcomes[1].texts(), [#"{"at":"2024-05-01T00:00:00.000Z"}"#])
            XCTAssertEqual(try outcomes[2].error().code, .invalidOutput)
            XCTAssertEqual(try outcomes[3].error().code, .invalidOutput)
        }
    }

    func testCompileErrorsAreReportedForEveryInput() async throws {
        try await withEngine { engine in
            let syntax = TransformationCode(id: "syntax", code: "export function transformEvent(e) {\n  return e +;\n}\n")
            var outcomes = await engine.transform([input("{}"), input("{}")], transformation: syntax)
            for outcome in outcomes {
                let error = try outcome.error()
                XCTAssertEqual(error.code, .compile)
                XCTAssertEqual(error.line, 2)
                XCTAssertTrue(error.message.contains("SyntaxError"), error.message)
            }
            let missingLibrary = TransformationCode(
                id: "imports", code: "import { f } from 'nowhere';\nexport function transformEvent(e) { return f(e); }")
            outcomes = await engine.transform([input("{}")], transformation: missingLibrary)
            XCTAssertTrue(try outcomes[0].error().message.contains("library 'nowhere' is not defined"))
            let noExport = TransformationCode(id: "none", code: "function transformEvent(e) { return e; }")
            outcomes = await engine.transform([input("{}")], transformation: noExport)
            XCTAssertEqual(try outcomes[0].error().code, .compile)
        }
    }

    func testInfiniteLoopStopsWithinTheTimeLimitAndTheNextCallWorks() async throws {
        var configuration = TransformationEngine.Configuration()
        configuration.timeLimit = .milliseconds(300)
        try await withEngine(configuration) { engine in
            let code = TransformationCode(
                id: "loop",
                code: """
                    export function transformEvent(event) {
                      if (event.spin) { try { while (true) {} } catch (e) { return { caught: true }; } }
                      return event;
                    }
                    """)
            let started = ContinuousClock.now
            let outcomes = await engine.transform(
                [input(#"{"messageId":"1"}"#), input(#"{"spin":true}"#), input(#"{"messageId":"3"}"#)],
                transformation: code)
            let elapsed = ContinuousClock.now - started
            XCTAssertLessThan(elapsed, .seconds(2))
            XCTAssertGreaterThanOrEqual(elapsed, .milliseconds(280))
            XCTAssertEqual(try outcomes[0].singleEvent()["messageId"] as? String, "1")
            XCTAssertEqual(try outcomes[1].error().code, .timeout)
            XCTAssertEqual(try outcomes[2].singleEvent()["messageId"] as? String, "3")
            let next = await engine.transform([input(#"{"messageId":"4"}"#)], transformation: code)
            XCTAssertEqual(try next[0].singleEvent()["messageId"] as? String, "4")
        }
    }

    func testAllocationLoopIsStoppedByTheMemoryLimitAndMemoryStaysBounded() async throws {
        var configuration = TransformationEngine.Configuration()
        configuration.memoryLimitBytes = 64 << 20
        configuration.workers = 1
        try await withEngine(configuration) { engine in
            let patterns = [
                "const a = []; while (true) a.push({ n: a.length, s: 'x' + a.length });",
                "const a = []; while (true) a.push(new Array(100000).fill(1.5));",
                "const a = []; while (true) a.push(new ArrayBuffer(1 << 20));",
                "let s = 'x'; const keep = []; while (true) { s = s + s.length; keep.push(s.slice(0)); if (s.length > 1e6) s = 'y'; }",
            ]
            for (number, body) in patterns.enumerated() {
                let code = TransformationCode(
                    id: "alloc\(number)", code: "export function transformEvent(event) { \(body) }")
                let outcomes = await engine.transform([input("{}")], transformation: code)
                let error = try outcomes[0].error()
                XCTAssertEqual(error.code, .memoryLimit, "pattern \(number): \(error)")
                XCTAssertLessThan(residentBytes(), 600 << 20, "pattern \(number)")
            }
            let ok = await engine.transform([input(#"{"a":1}"#)], transformation: Self.emailFilter, libraries: [Self.isRudderEmail])
            XCTAssertEqual(try ok[0].singleEvent()["a"] as? Int, 1)
        }
    }

    func testDeepRecursionIsAnErrorNotACrash() async throws {
        try await withEngine { engine in
            let code = TransformationCode(
                id: "recurse", code: "function f(n) { return f(n + 1) + 1; }\nexport function transformEvent(e) { return f(0); }")
            let outcomes = await engine.transform([input("{}")], transformation: code)
            XCTAssertTrue(try outcomes[0].error().message.contains("too much recursion"))
        }
    }

    func testTransformationsCannotSeeEachOthersGlobalsOrTheHost() async throws {
        var configuration = TransformationEngine.Configuration()
        configuration.workers = 1
        try await withEngine(configuration) { engine in
            let writer = TransformationCode(
                id: "writer",
                code: "globalThis.secret = 'from writer'; export function transformEvent(e) { globalThis.other = 1; return e; }")
            let reader = TransformationCode(
                id: "reader",
                code: """
                    export function transformEvent(e) {
                      return { secret: typeof secret, other: typeof other, require: typeof require, process: typeof process,
                               os: typeof os, load: typeof load, print: typeof print, wasm: typeof WebAssembly };
                    }
                    """)
            _ = await engine.transform([input("{}")], transformation: writer)
            let seen = try await engine.transform([input("{}")], transformation: reader)[0].singleEvent()
            for (key, value) in seen { XCTAssertEqual(value as? String, "undefined", key) }
        }
    }

    func testChangedCodeOrLibraryTakesEffectOnTheNextBatch() async throws {
        try await withEngine { engine in
            let library = LibraryCode(name: "tag", code: "export const tag = 'v1';")
            let code = TransformationCode(
                id: "versioned", code: "import { tag } from 'tag'; export function transformEvent(e) { return { tag }; }")
            let first = await engine.transform([input("{}")], transformation: code, libraries: [library])
            XCTAssertEqual(try first[0].singleEvent()["tag"] as? String, "v1")
            let second = await engine.transform(
                [input("{}")], transformation: code, libraries: [LibraryCode(name: "tag", code: "export const tag = 'v2';")])
            XCTAssertEqual(try second[0].singleEvent()["tag"] as? String, "v2")
        }
    }

    func testLogsAreCapturedPerEventAndBounded() async throws {
        var configuration = TransformationEngine.Configuration()
        configuration.maxLogLinesPerEvent = 3
        try await withEngine(configuration) { engine in
            let code = TransformationCode(
                id: "logger",
                code: """
                    export function transformEvent(event) {
                      log("event", event.messageId, { n: 1 });
                      console.log("via console");
                      if (event.chatty) for (let i = 0; i < 1000; i++) log("line", i);
                      return event;
                    }
                    """)
            let outcomes = await engine.transform(
                [input(#"{"messageId":"a"}"#), input(#"{"messageId":"b","chatty":true}"#)], transformation: code)
            XCTAssertEqual(outcomes[0].logs, [#"event a {"n":1}"#, "via console"])
            XCTAssertEqual(outcomes[1].logs.count, 4)
            XCTAssertEqual(outcomes[1].logs[2], "line 0")
            XCTAssertTrue(outcomes[1].logs[3].contains("log limit"))
        }
    }

    func testFetchReachesAnAllowedLocalServerAndRefusesOtherHosts() async throws {
        let server = try TestHTTPServer()
        defer { server.stop() }
        try await withEngine { engine in
            let code = TransformationCode(
                id: "fetcher",
                code: """
                    export async function transformEvent(event) {
                      const v2 = await fetchV2(event.url, { method: "POST", body: { id: event.messageId },
                                                            headers: { "X-Test": "yes" } });
                      const v1 = await fetch(event.url);
                      return { status: v2.status, echoed: v2.body, contentType: v2.headers["content-type"], v1 };
                    }
                    """)
            let url = "http://127.0.0.1:\(server.port)/enrich?x=1"
            let outcomes = await engine.transform(
                [input(#"{"messageId":"f1","url":"\#(url)"}"#), input(#"{"messageId":"f2","url":"http://localhost:\#(server.port)/"}"#)],
                transformation: code, allowedFetchHosts: ["127.0.0.1"])
            let event = try outcomes[0].singleEvent()
            XCTAssertEqual(event["status"] as? Int, 200)
            XCTAssertEqual(event["contentType"] as? String, "application/json")
            let echoed = try XCTUnwrap(event["echoed"] as? [String: Any])
            XCTAssertEqual(echoed["method"] as? String, "POST")
            XCTAssertEqual(echoed["path"] as? String, "/enrich?x=1")
            XCTAssertEqual(echoed["body"] as? String, #"{"id":"f1"}"#)
            XCTAssertEqual(echoed["xTest"] as? String, "yes")
            XCTAssertEqual((event["v1"] as? [String: Any])?["method"] as? String, "GET")
            let refused = try outcomes[1].error()
            XCTAssertEqual(refused.code, .exception)
            XCTAssertTrue(refused.message.contains("localhost is not on this workspace's fetch allow list"), refused.message)
        }
    }

    func testManyConcurrentBatchesAllComplete() async throws {
        try await withEngine { engine in
            try await withThrowingTaskGroup(of: Int.self) { group in
                for batch in 0..<20 {
                    group.addTask {
                        let inputs = (0..<50).map { input(#"{"messageId":"\#(batch)-\#($0)","context":{"traits":{"email":"a@b.c"}}}"#) }
                        let outcomes = await engine.transform(inputs, transformation: Self.emailFilter, libraries: [Self.isRudderEmail])
                        return try outcomes.filter { try $0.singleEvent()["messageId"] != nil }.count
                    }
                }
                var total = 0
                for try await count in group { total += count }
                XCTAssertEqual(total, 1000)
            }
        }
    }
}

// MARK: - Helpers

func withEngine(
    _ configuration: TransformationEngine.Configuration = .init(), _ body: (TransformationEngine) async throws -> Void
) async throws {
    let engine = try TransformationEngine(configuration: configuration)
    defer { engine.shutdown() }
    try await body(engine)
}

func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

func input(_ json: String) -> TransformInput { TransformInput(event: bytes(json), metadata: TransformMetadata()) }

func residentBytes() -> Int {
    guard let statm = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
    let fields = statm.split(separator: " ")
    return (Int(fields[1]) ?? 0) * Int(sysconf(Int32(_SC_PAGESIZE)))
}

struct UnexpectedOutcome: Error { let outcome: TransformOutcome }

extension TransformOutcome {
    var isDropped: Bool { if case .dropped = result { true } else { false } }

    func events() throws -> [[String: Any]] {
        guard case .events(let events) = result else { throw UnexpectedOutcome(outcome: self) }
        return try events.map { try XCTUnwrap(JSONSerialization.jsonObject(with: Data($0)) as? [String: Any]) }
    }

    /// The output events' exact text.
    func texts() throws -> [String] {
        guard case .events(let events) = result else { throw UnexpectedOutcome(outcome: self) }
        return events.map { String(decoding: $0, as: UTF8.self) }
    }

    func singleEvent() throws -> [String: Any] {
        let events = try events()
        guard events.count == 1 else { throw UnexpectedOutcome(outcome: self) }
        return events[0]
    }

    func error() throws -> TransformationError {
        guard case .failed(let error) = result else { throw UnexpectedOutcome(outcome: self) }
        return error
    }
}

/// Callers that run on an engine worker (`withTaskExecutorPreference(engine.taskExecutor())`)
/// get their batches run inline on that thread, with the same contract and limits.
final class EngineTaskExecutorTests: XCTestCase {
    func testCallsFromAWorkerThreadRunInlineWithTheSameResultsAndLimits() async throws {
        var configuration = TransformationEngine.Configuration()
        configuration.workers = 2
        configuration.timeLimit = .milliseconds(200)
        try await withEngine(configuration) { engine in
            let executor = try XCTUnwrap(engine.taskExecutor())
            let code = TransformationCode(
                id: "inline",
                code: """
                    export function transformEvent(event, metadata) {
                      if (event.spin) while (true) {}
                      return { ...event, source: metadata(event).sourceId };
                    }
                    """)
            try await withTaskExecutorPreference(executor) {
                for index in 0..<200 {
                    let outcomes = await engine.transform(
                        [TransformInput(event: bytes(#"{"n":\#(index)}"#), metadata: TransformMetadata(sourceId: "s\(index)"))],
                        transformation: code)
                    let event = try outcomes[0].singleEvent()
                    XCTAssertEqual(event["n"] as? Int, index)
                    XCTAssertEqual(event["source"] as? String, "s\(index)")
                }
                let started = ContinuousClock.now
                let stopped = await engine.transform([input(#"{"spin":true}"#), input(#"{"n":1}"#)], transformation: code)
                XCTAssertLessThan(ContinuousClock.now - started, .seconds(2))
                XCTAssertEqual(try stopped[0].error().code, .timeout)
                XCTAssertEqual(try stopped[1].singleEvent()["n"] as? Int, 1)
            }
            // Meanwhile other callers are served by the workers as usual.
            let outside = await engine.transform([input(#"{"n":7}"#)], transformation: code)
            XCTAssertEqual(try outside[0].singleEvent()["n"] as? Int, 7)
        }
    }

    func testShutdownFromATaskOnAWorkerDoesNotHang() async throws {
        let engine = try TransformationEngine(configuration: .init())
        let executor = try XCTUnwrap(engine.taskExecutor())
        await withTaskExecutorPreference(executor) {
            _ = await engine.transform([input("{}")], transformation: TransformationCode(id: "x", code: "export function transformEvent(e) { return e; }"))
            engine.shutdown()
        }
        let after = await engine.transform([input("{}")], transformation: TransformationCode(id: "x", code: "export function transformEvent(e) { return e; }"))
        XCTAssertEqual(try after[0].error().code, .engine)
    }
}

// End-to-end latency, gateway → processor → router → sink, at a steady event rate.
//
// Runs a webhook sink (Hummingbird, 127.0.0.1) and a load generator in this process, against a
// running stack (see Benchmarks/e2e/run, which starts one with deploy/local/up --release and a
// webhook destination pointing at this sink). Every event carries the wall-clock nanoseconds at
// which its request was sent (`properties.benchSentNanos`); the sink subtracts that from its own
// arrival time, so a latency is everything between the SDK's request and the tool's receipt.
//
//   e2e-bench [--gateway URL] [--write-key KEY] [--sink-port N] [--rate EVENTS/S] [--seconds N]
//             [--batch EVENTS/REQUEST] [--users N] [--warmup SECONDS]
//
// With --warmup, the same rate is sent for that long first; those events must arrive too, but only
// events sent after it count in the latency figures (connections, consumer groups and caches are
// warm by then).

import AsyncHTTPClient
import EventModel
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import Synchronization

struct Options {
    var gateway = "http://127.0.0.1:8080"
    var writeKey = "local-write-key"
    var sinkPort = 8091
    var rate = 5000
    var seconds = 30
    var batch = 25
    var users = 1000
    var warmup = 0

    init(arguments: [String]) {
        var rest = arguments.dropFirst()
        while let flag = rest.popFirst() {
            guard let value = rest.popFirst() else { Self.usage("\(flag) needs a value") }
            switch flag {
            case "--gateway": gateway = value
            case "--write-key": writeKey = value
            case "--sink-port": sinkPort = Self.number(value, flag)
            case "--rate": rate = Self.number(value, flag)
            case "--seconds": seconds = Self.number(value, flag)
            case "--batch": batch = Self.number(value, flag)
            case "--users": users = Self.number(value, flag)
            case "--warmup": warmup = value == "0" ? 0 : Self.number(value, flag)
            default: Self.usage("unknown option \(flag)")
            }
        }
    }

    static func number(_ text: String, _ flag: String) -> Int {
        guard let value = Int(text), value > 0 else { usage("\(flag) takes a positive number") }
        return value
    }

    static func usage(_ message: String) -> Never {
        FileHandle.standardError.write(Data("e2e-bench: \(message)\n".utf8))
        exit(2)
    }
}

func wallNanos() -> Int64 {
    var spec = timespec()
    clock_gettime(CLOCK_REALTIME, &spec)
    return Int64(spec.tv_sec) * 1_000_000_000 + Int64(spec.tv_nsec)
}

/// What the sink saw: latency per first arrival of each messageId, and repeats.
struct Arrivals {
    var latencies: [Int64] = []
    /// First arrivals of events sent during the warm-up (not in `latencies`).
    var warmup = 0
    var seen: Set<String> = []
    var duplicates = 0
    var unreadable = 0
}

func percentile(_ sorted: [Int64], _ p: Double) -> Double {
    guard !sorted.isEmpty else { return .nan }
    let index = min(sorted.count - 1, Int((Double(sorted.count) * p).rounded(.up)) - 1)
    return Double(sorted[max(0, index)]) / 1_000_000
}

let options = Options(arguments: CommandLine.arguments)
var logger = Logger(label: "e2e-bench")
logger.logLevel = .error

// Sink
let arrivals = Mutex(Arrivals())
/// Events sent before this wall-clock time (nanoseconds) are the warm-up's.
let measureFrom = Atomic<Int64>(Int64.max)
let sinkRouter = Hummingbird.Router()
sinkRouter.post("/**") { request, _ -> HTTPResponse.Status in
    let body = try await request.body.collect(upTo: 8 << 20)
    let now = wallNanos()
    let parsed = body.withUnsafeReadableBytes { try? JSON(parsing: $0) }
    // A webhook request is one event; an Amplitude batch request carries `events`.
    let events = parsed?["events"]?.arrayValue ?? [parsed ?? .null]
    arrivals.withLock { arrivals in
        for event in events {
            let sent =
                event["properties"]?["benchSentNanos"]?.intValue ?? event["event_properties"]?["benchSentNanos"]?.intValue
                ?? event["benchSentNanos"]?.intValue
            guard let sent else {
                arrivals.unreadable += 1
                continue
            }
            if let id = event["messageId"]?.stringValue ?? event["insert_id"]?.stringValue, !arrivals.seen.insert(id).inserted {
                arrivals.duplicates += 1
                continue
            }
            if sent < measureFrom.load(ordering: .relaxed) {
                arrivals.warmup += 1
            } else {
                arrivals.latencies.append(now - sent)
            }
        }
    }
    return .ok
}
let sink = Application(
    router: sinkRouter,
    configuration: .init(address: .hostname("127.0.0.1", port: options.sinkPort), serverName: nil),
    logger: logger)
let sinkTask = Task { try await sink.runService() }

// Load
var loadConfiguration = HTTPClient.Configuration(
    connectionPool: .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: 16))
loadConfiguration.tracing.tracer = nil  // the load generator's CPU shares the cores with the stack
let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: loadConfiguration)
let authorization = "Basic " + Data("\(options.writeKey):".utf8).base64EncodedString()
let padding = String(repeating: "x", count: 200)
/// messageIds differ from run to run: the processor drops ids it saw within its dedup window.
let run = String(UInt32.random(in: 0...UInt32.max), radix: 36)

/// One `/v1/batch` body with `count` track events, each stamped with the send time.
func batchBody(first: Int, count: Int) -> ByteBuffer {
    let sent = wallNanos()
    var text = #"{"batch":["#
    for n in first..<(first + count) {
        if n > first { text += "," }
        text += #"{"type":"track","event":"Bench Event","userId":"user-\#(n % options.users)","messageId":"bench-\#(run)-\#(n)","#
        text += #""properties":{"benchSentNanos":\#(sent),"n":\#(n),"plan":"pro","note":"\#(padding)"}}"#
    }
    text += "]}"
    return ByteBuffer(string: text)
}

let requestsPerSecond = max(1, options.rate / options.batch)
let interval = Duration.nanoseconds(1_000_000_000 / requestsPerSecond)
let total = requestsPerSecond * (options.warmup + options.seconds) * options.batch
print(
    "e2e-bench: \(options.rate) events/s as \(requestsPerSecond) requests/s of \(options.batch) for \(options.seconds) s "
        + "(after \(options.warmup) s of warm-up) → \(options.gateway), sink on 127.0.0.1:\(options.sinkPort)")
measureFrom.store(wallNanos() + Int64(options.warmup) * 1_000_000_000, ordering: .relaxed)

let accepted = Atomic<Int>(0)
let refused = Atomic<Int>(0)
let late = Atomic<Int>(0)
let inFlight = Atomic<Int>(0)
let maxInFlight = 256
let started = ContinuousClock.now
await withTaskGroup(of: Void.self) { group in
    var next = 0
    var tick = started
    while next < total {
        // Open loop: a tick that finds too many requests outstanding is counted, not queued.
        if inFlight.load(ordering: .relaxed) >= maxInFlight {
            late.add(1, ordering: .relaxed)
        } else {
            let first = next
            inFlight.add(1, ordering: .relaxed)
            group.addTask {
                defer { inFlight.subtract(1, ordering: .relaxed) }
                var request = HTTPClientRequest(url: options.gateway + "/v1/batch")
                request.method = .POST
                request.headers.add(name: "Authorization", value: authorization)
                request.headers.add(name: "Content-Type", value: "application/json")
                request.body = .bytes(batchBody(first: first, count: options.batch))
                do {
                    let response = try await client.execute(request, timeout: .seconds(30))
                    _ = try await response.body.collect(upTo: 1 << 16)
                    if response.status == .ok {
                        accepted.add(options.batch, ordering: .relaxed)
                    } else {
                        refused.add(options.batch, ordering: .relaxed)
                    }
                } catch {
                    refused.add(options.batch, ordering: .relaxed)
                }
            }
        }
        next += options.batch
        tick = tick + interval
        try? await Task.sleep(until: tick, clock: .continuous)
    }
    await group.waitForAll()
}
let sendingTook = ContinuousClock.now - started

// Drain: wait until every accepted event arrived, or nothing new came for 20 s.
var lastCount = -1
var quietSince = ContinuousClock.now
while true {
    let count = arrivals.withLock { $0.latencies.count + $0.warmup }
    if count >= accepted.load(ordering: .relaxed) { break }
    if count != lastCount {
        lastCount = count
        quietSince = ContinuousClock.now
    } else if ContinuousClock.now - quietSince > .seconds(20) {
        break
    }
    try? await Task.sleep(for: .milliseconds(200))
}

let result = arrivals.withLock { $0 }
let sorted = result.latencies.sorted()
let seconds = Double(sendingTook.components.seconds) + Double(sendingTook.components.attoseconds) / 1e18
print(String(format: "sent %d events in %.1f s (%.0f events/s offered)", total, seconds, Double(total) / seconds))
print(
    "accepted \(accepted.load(ordering: .relaxed)), refused \(refused.load(ordering: .relaxed)), "
        + "ticks skipped (too many requests outstanding) \(late.load(ordering: .relaxed))")
print("delivered \(sorted.count + result.warmup) (\(result.warmup) of the warm-up), duplicates \(result.duplicates), unreadable \(result.unreadable)")
print(
    String(
        format: "latency gateway → sink: p50 %.1f ms, p90 %.1f ms, p99 %.1f ms, max %.1f ms",
        percentile(sorted, 0.50), percentile(sorted, 0.90), percentile(sorted, 0.99), percentile(sorted, 1.0)))
try await client.shutdown()
sinkTask.cancel()
let delivered = sorted.count + result.warmup
exit(delivered >= accepted.load(ordering: .relaxed) && accepted.load(ordering: .relaxed) > 0 ? 0 : 1)

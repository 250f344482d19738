// Events per second per core through Keel's transformation engine (SpiderMonkey) for the
// email-filter transformation on ~1 KB events, batches of 1 and 100, beside node v20 running the
// same transformation on the same events (from JS strings, and from UTF-8 bytes as Keel's engine
// works); Keel both through the usual thread hand-off and with the caller running on the engine
// worker (taskExecutor()). Run through Benchmarks/transformations/run.sh.
import Foundation
import Transformations

struct Options {
    var nodeScript = "Benchmarks/transformations/node-bench.mjs"
    var node = "node"
    var rounds = 5
    var secondsPerRound = 2.0
    var batches = [1, 100]
    var verbose = false
    /// Only the keel* rounds (for a profiler).
    var pinnedOnly = false

    init(arguments: [String]) {
        var iterator = arguments.dropFirst().makeIterator()
        while let argument = iterator.next() {
            switch argument {
            case "--node-script": nodeScript = iterator.next() ?? nodeScript
            case "--node": node = iterator.next() ?? node
            case "--rounds": rounds = Int(iterator.next() ?? "") ?? rounds
            case "--seconds": secondsPerRound = Double(iterator.next() ?? "") ?? secondsPerRound
            case "--verbose": verbose = true
            case "--pinned-only": pinnedOnly = true
            case "--batches": batches = (iterator.next() ?? "").split(separator: ",").compactMap { Int($0) }
            default:
                FileHandle.standardError.write(Data("unknown argument \(argument)\n".utf8))
                exit(2)
            }
        }
    }
}

let library = LibraryCode(
    name: "isRudderEmail",
    code: """
        export function rudderEmail(email) {
          return /@(rudderlabs|rudderstack)|\\+ruddertest/.test(email);
        }
        """)
let transformation = TransformationCode(
    id: "email-filter",
    code: """
        import { rudderEmail } from "isRudderEmail";
        export function transformEvent(event, metadata) {
          const email = event.context && event.context.traits && event.context.traits.email;
          if (email && rudderEmail(email)) return null;
          return event;
        }
        """)

/// ~1 KB track events; one in four has a Rudder address and is dropped.
func makeEvents(count: Int) -> [String] {
    (0..<count).map { index in
        let email = index % 4 == 0 ? "user\(index)@rudderlabs.com" : "user\(index)@example.com"
        return """
            {"type":"track","event":"Order Completed","messageId":"msg-\(index)-0f8fad5b-d9cb-469f-a165-70867728950e",\
            "anonymousId":"anon-\(index)-7c9e6679-7425-40de-944b","userId":"user-\(index)",\
            "timestamp":"2024-05-01T12:00:00.000Z","receivedAt":"2024-05-01T12:00:00.123Z","request_ip":"10.1.2.3",\
            "properties":{"orderId":"order-\(index)","total":\(Double(index % 500) + 0.99),"revenue":\(index % 300),\
            "currency":"USD","coupon":"SPRING","products":[{"sku":"sku-1","name":"Shoe","price":49.5,"quantity":1},\
            {"sku":"sku-2","name":"Sock","price":5.25,"quantity":3}]},\
            "context":{"traits":{"email":"\(email)","name":"User \(index)","plan":"pro"},\
            "library":{"name":"analytics.js","version":"2.11.1"},"locale":"en-US","ip":"10.1.2.3",\
            "page":{"path":"/checkout","url":"https://shop.example.com/checkout","title":"Checkout",\
            "referrer":"https://shop.example.com/cart"},\
            "userAgent":"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36"},\
            "integrations":{"All":true}}
            """
    }
}

func median(_ values: [Double]) -> Double {
    let sorted = values.sorted()
    return sorted.isEmpty ? 0 : sorted[sorted.count / 2]
}

/// CPU time (user + system) of this whole process so far, in seconds.
func processCPUSeconds() -> Double {
    var usage = rusage()
    getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
    func seconds(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) / 1e6 }
    return seconds(usage.ru_utime) + seconds(usage.ru_stime)
}

/// One round: events per wall-clock second, and events per CPU-second of the process (the
/// figure that other load on a shared machine disturbs least).
struct Rate {
    var wall: Double
    var cpu: Double
}

func keelRounds(engine: TransformationEngine, inputs: [TransformInput], batch: Int, options: Options) async -> [Rate] {
    var results: [Rate] = []
    var kept = 0
    for _ in 0..<options.rounds {
        let cpuStarted = processCPUSeconds()
        let started = ContinuousClock.now
        let limit = started + .milliseconds(Int(options.secondsPerRound * 1000))
        var done = 0
        while ContinuousClock.now < limit {
            let start = done % inputs.count
            let slice = Array(inputs[start..<min(start + batch, inputs.count)])
            let outcomes = await engine.transform(slice, transformation: transformation, libraries: [library])
            for outcome in outcomes {
                switch outcome.result {
                case .events: kept += 1
                case .dropped: break
                case .failed(let error): fatalError("benchmark transformation failed: \(error)")
                }
            }
            done += slice.count
        }
        let elapsed = ContinuousClock.now - started
        let cpu = processCPUSeconds() - cpuStarted
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        results.append(Rate(wall: Double(done) / seconds, cpu: Double(done) / max(cpu, 1e-6)))
    }
    precondition(kept > 0)
    return results
}

/// The same rounds with the calling task running on the engine's worker thread
/// (`withTaskExecutorPreference(engine.taskExecutor())`): `transform` runs inline, no thread hop.
func keelRoundsOnEngineThread(
    engine: TransformationEngine, inputs: [TransformInput], batch: Int, options: Options
) async -> [Rate] {
    await withTaskExecutorPreference(engine.taskExecutor()) {
        await keelRounds(engine: engine, inputs: inputs, batch: batch, options: options)
    }
}

/// `mode`: `strings` (JS strings in and out) or `bytes` (UTF-8 Buffers in and out, as Keel's engine).
func nodeRounds(eventsFile: String, batch: Int, mode: String, options: Options) throws -> [Rate] {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = [
        options.node, options.nodeScript, eventsFile, "\(batch)", "\(options.rounds)", "\(options.secondsPerRound)", mode,
    ]
    let pipe = Pipe()
    process.standardOutput = pipe
    try process.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    guard process.terminationStatus == 0,
        let object = try JSONSerialization.jsonObject(with: data) as? [String: Any],
        let rates = object["eventsPerSecond"] as? [Double],
        let cpuRates = object["eventsPerCPUSecond"] as? [Double]
    else { throw CocoaError(.fileReadCorruptFile) }
    return zip(rates, cpuRates).map { Rate(wall: $0, cpu: $1) }
}

let options = Options(arguments: CommandLine.arguments)
let texts = makeEvents(count: 10_000)
let averageSize = texts.reduce(0) { $0 + $1.utf8.count } / texts.count
let inputs = texts.map { text in
    TransformInput(event: Array(text.utf8), metadata: TransformMetadata(sourceId: "src", destinationId: "dst", workspaceId: "ws"))
}
let eventsFile = FileManager.default.temporaryDirectory.appendingPathComponent("keel-transform-bench-\(getpid()).json").path
try ("[" + texts.joined(separator: ",") + "]").write(toFile: eventsFile, atomically: true, encoding: .utf8)
defer { try? FileManager.default.removeItem(atPath: eventsFile) }

var configuration = TransformationEngine.Configuration()
configuration.workers = 1  // per core
let engine = try TransformationEngine(configuration: configuration)
print("events: \(texts.count) distinct, \(averageSize) bytes on average; \(options.rounds) rounds of \(options.secondsPerRound) s; one core each")
print("keel: caller task on the cooperative pool (a thread hand-off to the engine worker and back per call)")
print("keel*: caller task on the engine worker (withTaskExecutorPreference(engine.taskExecutor()), no hand-off)")
print("node: JS strings in and out; node(b): UTF-8 Buffers in and out, the bytes-to-bytes work the engine does")
print("events/s of wall-clock time, and [events per CPU-second of the process]; medians; ratios per CPU-second, the median over rounds run back to back")
func column(_ text: String, _ width: Int) -> String { text.padding(toLength: width, withPad: " ", startingAt: 0) }
func pair(_ rates: [Rate]) -> String {
    "\(Int(median(rates.map(\.wall)))) [\(Int(median(rates.map(\.cpu))))]"
}
/// Per CPU-second, the "per core" figure: the median of the ratios of rounds run one after the
/// other (round i of each column), which shared-machine load, changing over seconds to minutes,
/// moves less than a ratio of medians.
func ratio(_ a: [Rate], _ b: [Rate]) -> String {
    String(format: "%.2f", median(zip(a, b).map { $0.cpu / $1.cpu }))
}
print(
    column("batch", 7) + column("keel", 18) + column("keel*", 18) + column("node v20", 18) + column("node(b) v20", 18)
        + column("keel/node", 11) + column("keel*/node", 11) + column("keel/node(b)", 14) + "keel*/node(b)")
var oneRound = options
oneRound.rounds = 1
for batch in options.batches {
    // Rounds alternate between the engines so that other load on the machine hits both alike.
    var keelRates: [Rate] = []
    var pinnedRates: [Rate] = []
    var nodeRates: [Rate] = []
    var nodeBytesRates: [Rate] = []
    for _ in 0..<options.rounds {
        if !options.pinnedOnly {
            keelRates += await keelRounds(engine: engine, inputs: inputs, batch: batch, options: oneRound)
        }
        pinnedRates += await keelRoundsOnEngineThread(engine: engine, inputs: inputs, batch: batch, options: oneRound)
        if !options.pinnedOnly {
            nodeRates += try nodeRounds(eventsFile: eventsFile, batch: batch, mode: "strings", options: oneRound)
            nodeBytesRates += try nodeRounds(eventsFile: eventsFile, batch: batch, mode: "bytes", options: oneRound)
        }
    }
    if options.pinnedOnly {
        print(column(String(batch), 7) + column("-", 18) + pair(pinnedRates))
        continue
    }
    print(
        column(String(batch), 7) + column(pair(keelRates), 18) + column(pair(pinnedRates), 18) + column(pair(nodeRates), 18)
            + column(pair(nodeBytesRates), 18) + column(ratio(keelRates, nodeRates), 11)
            + column(ratio(pinnedRates, nodeRates), 11) + column(ratio(keelRates, nodeBytesRates), 14)
            + ratio(pinnedRates, nodeBytesRates))
    if options.verbose {
        print("  keel rounds: \(keelRates.map { "\(Int($0.wall))/\(Int($0.cpu))" })")
        print("  keel* rounds: \(pinnedRates.map { "\(Int($0.wall))/\(Int($0.cpu))" })")
        print("  node rounds: \(nodeRates.map { "\(Int($0.wall))/\(Int($0.cpu))" })")
        print("  node(b) rounds: \(nodeBytesRates.map { "\(Int($0.wall))/\(Int($0.cpu))" })")
    }
}
engine.shutdown()

// json-bench: parse and re-serialise a 100-event RudderStack batch with EventModel's JSON and with
// Foundation's JSONSerialization, single-threaded, and print events/s per core and MB/s.
//
//     swift build -c release --product json-bench && .build/release/json-bench [runs] [name filter]

import EventModel
import Foundation

// MARK: Input

/// A realistic ~700-byte event; `i` varies ids, names and values.
func event(_ i: Int) -> String {
    let types = ["track", "page", "identify", "screen"]
    let type = types[i % types.count]
    let names = ["Product Viewed", "Order Completed", "Signed Up", "Checkout Started"]
    let specific: String
    switch type {
    case "track":
        specific = #""event":"\#(names[i % names.count])","properties":{"product_id":"sku-\#(10_000 + i)","price":\#(Double(i % 97) + 0.99),"quantity":\#(i % 5 + 1),"currency":"USD","category":"shoes/running","in_stock":true,"tags":["sale","new"]}"#
    case "page":
        specific = #""name":"Pricing","properties":{"path":"/pricing","referrer":"https://www.google.com/","search":"?utm_source=ads","title":"Pricing – Acme","url":"https://acme.example/pricing?utm_source=ads"}"#
    case "identify":
        specific = #""traits":{"email":"user\#(i)@example.com","name":"Zoë Müller","plan":"pro","logins":\#(i * 3),"company":{"name":"Acme","employees":250}}"#
    default:
        specific = #""name":"Home","properties":{"screen_class":"HomeViewController","load_ms":\#(120 + i)}"#
    }
    return #"{"type":"\#(type)","messageId":"1b4e28ba-2fa1-4d2b-a3f6-\#(String(format: "%012x", i))","anonymousId":"a7d3c8e2-\#(i)-4b1f-9c2d-5e8f7a6b4c3d","userId":"user-\#(i)","channel":"web","#
        + specific
        + #","context":{"library":{"name":"@rudderstack/analytics-js","version":"3.7.1"},"locale":"en-US","os":{"name":"Mac OS X","version":"14.4"},"screen":{"width":1728,"height":1117,"density":2},"userAgent":"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) Chrome/124.0","ip":"203.0.113.\#(i % 250)"},"originalTimestamp":"2026-11-29T12:00:\#(String(format: "%02d", i % 60)).123Z","sentAt":"2026-11-29T12:00:59.456Z","receivedAt":"2026-11-29T12:01:00.012Z","integrations":{"All":true,"Amplitude":{"session_id":\#(1_732_881_600 + i)}}}"#
}

let eventCount = 100
let batchText = #"{"batch":["# + (0..<eventCount).map(event).joined(separator: ",") + #"],"sentAt":"2026-11-29T12:01:00.000Z"}"#
let batchBytes = Array(batchText.utf8)
let batchData = Data(batchBytes)

// MARK: Harness

/// This thread's CPU time in seconds: a per-core figure that time-slicing with other processes
/// on the machine does not inflate.
func threadCPUTime() -> Double {
    var time = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &time)
    return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
}

/// Runs `body` repeatedly for about `seconds` of CPU time and returns CPU seconds per call.
func measure(seconds: Double = 0.4, _ body: () -> Void) -> Double {
    var iterations = 0
    let start = threadCPUTime()
    var elapsed = 0.0
    repeat {
        for _ in 0..<10 { body() }
        iterations += 10
        elapsed = threadCPUTime() - start
    } while elapsed < seconds
    return elapsed / Double(iterations)
}

func median(_ values: [Double]) -> Double {
    let sorted = values.sorted()
    return sorted[sorted.count / 2]
}

let runs = CommandLine.arguments.count > 1 ? Int(CommandLine.arguments[1]) ?? 7 : 7
/// Only measurements whose name contains this text (for profiling one of them).
let filter = CommandLine.arguments.count > 2 ? CommandLine.arguments[2] : ""

/// Keeps results alive so the optimiser cannot drop the work.
nonisolated(unsafe) var sink = 0

func report(_ name: String, bytes: Int, _ body: () -> Void) {
    guard filter.isEmpty || name.contains(filter) else { return }
    for _ in 0..<3 { body() }  // warm up
    let perBatch = median((0..<runs).map { _ in measure(body) })
    let eventsPerSecond = Double(eventCount) / perBatch
    let megabytesPerSecond = Double(bytes) / perBatch / 1_000_000
    print(
        name.padding(toLength: 48, withPad: " ", startingAt: 0),
        String(format: "%10.0f events/s   %8.1f MB/s   %8.1f µs/batch", eventsPerSecond, megabytesPerSecond, perBatch * 1e6))
}

// MARK: Check, then measure

let parsed = try JSON(parsing: batchBytes)
let reserialized = parsed.serialized()
precondition(parsed[path: "batch"]?.arrayValue?.count == eventCount)
let reparsed = try JSON(parsing: reserialized)
precondition(reparsed == parsed, "round trip changed the value")
print("batch: \(eventCount) events, \(batchBytes.count) bytes (\(batchBytes.count / eventCount) bytes/event); median of \(runs) runs, 1 thread, thread CPU time")
print("round trip byte-identical: \(reserialized == batchBytes)")

report("EventModel JSON parse", bytes: batchBytes.count) {
    let value = try! JSON(parsing: batchBytes)
    if case .object(let object) = value { sink &+= object.count }
}
report("EventModel JSON serialize", bytes: batchBytes.count) {
    sink &+= parsed.serialized().count
}
report("EventModel JSON parse + serialize", bytes: batchBytes.count) {
    sink &+= (try! JSON(parsing: batchBytes)).serialized().count
}
let foundationObject = try JSONSerialization.jsonObject(with: batchData)
report("Foundation JSONSerialization parse", bytes: batchBytes.count) {
    let object = try! JSONSerialization.jsonObject(with: batchData)
    sink &+= (object as? NSDictionary)?.count ?? 0
}
report("Foundation JSONSerialization serialize", bytes: batchBytes.count) {
    sink &+= try! JSONSerialization.data(withJSONObject: foundationObject, options: [.withoutEscapingSlashes]).count
}
report("Foundation JSONSerialization parse + serialize", bytes: batchBytes.count) {
    let object = try! JSONSerialization.jsonObject(with: batchData)
    sink &+= try! JSONSerialization.data(withJSONObject: object, options: [.withoutEscapingSlashes]).count
}
report("MessageID.random() x100", bytes: 0) {
    for _ in 0..<eventCount { sink &+= MessageID.random().utf8.count }
}
report("UUID().uuidString x100", bytes: 0) {
    for _ in 0..<eventCount { sink &+= UUID().uuidString.utf8.count }
}
report("Timestamp parse + format x100", bytes: 0) {
    for i in 0..<eventCount {
        let t = Timestamp(parsing: "2026-11-29T12:00:59.456+01:00")!.adding(milliseconds: Int64(i))
        sink &+= t.rfc3339.utf8.count
    }
}
print("(sink \(sink & 1))")

/// The framing between the processor and a hardened-mode worker process: one frame per batch each
/// way, `[UInt32 length, little-endian][payload]`; payloads are sequences of little-endian
/// integers and length-prefixed byte strings.
struct WireWriter {
    var bytes: [UInt8] = []

    mutating func u32(_ value: UInt32) { withUnsafeBytes(of: value.littleEndian) { bytes += $0 } }
    mutating func int(_ value: Int?) { u32(UInt32(truncatingIfNeeded: value ?? -1)) }
    mutating func data(_ value: [UInt8]) {
        u32(UInt32(value.count))
        bytes += value
    }
    mutating func string(_ value: String?) { data(Array((value ?? "").utf8)) }

    /// The payload with its length prefix.
    var frame: [UInt8] {
        var out = WireWriter()
        out.u32(UInt32(bytes.count))
        return out.bytes + bytes
    }
}

struct WireError: Error {}

struct WireReader {
    let bytes: [UInt8]
    var offset = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    mutating func u32() throws(WireError) -> UInt32 {
        guard offset + 4 <= bytes.count else { throw WireError() }
        var value: UInt32 = 0
        for index in 0..<4 { value |= UInt32(bytes[offset + index]) << (8 * index) }
        offset += 4
        return value
    }
    mutating func int() throws(WireError) -> Int? {
        let raw = Int32(bitPattern: try u32())
        return raw < 0 ? nil : Int(raw)
    }
    mutating func data() throws(WireError) -> [UInt8] {
        let count = Int(try u32())
        guard offset + count <= bytes.count else { throw WireError() }
        defer { offset += count }
        return Array(bytes[offset..<offset + count])
    }
    mutating func string() throws(WireError) -> String { String(decoding: try data(), as: UTF8.self) }
}

extension TransformJob {
    func encoded() -> [UInt8] {
        var w = WireWriter()
        w.string(transformation.id)
        w.string(transformation.code)
        w.u32(UInt32(libraries.count))
        for library in libraries {
            w.string(library.name)
            w.string(library.code)
        }
        w.string(allowedHosts)
        w.u32(UInt32(inputs.count))
        for input in inputs {
            w.data(input.event)
            let m = input.metadata
            for field in [m.sourceId, m.sourceType, m.destinationId, m.destinationType, m.messageId, m.workspaceId] {
                w.string(field)
            }
        }
        return w.frame
    }

    init(decoding payload: [UInt8]) throws(WireError) {
        var r = WireReader(payload)
        let transformation = TransformationCode(id: try r.string(), code: try r.string())
        var libraries: [LibraryCode] = []
        for _ in 0..<(try r.u32()) { libraries.append(LibraryCode(name: try r.string(), code: try r.string())) }
        let allowedHosts = try r.string()
        var inputs: [TransformInput] = []
        for _ in 0..<(try r.u32()) {
            let event = try r.data()
            let metadata = TransformMetadata(
                sourceId: try r.string(), sourceType: try r.string(), destinationId: try r.string(),
                destinationType: try r.string(), messageId: try r.string(), workspaceId: try r.string())
            inputs.append(TransformInput(event: event, metadata: metadata))
        }
        self.init(
            inputs: inputs, transformation: transformation, libraries: libraries,
            key: RealmKey(transformation: transformation, libraries: libraries), allowedHosts: allowedHosts)
    }
}

enum OutcomeWire {
    static func encode(_ outcomes: [TransformOutcome]) -> [UInt8] {
        var w = WireWriter()
        w.u32(UInt32(outcomes.count))
        for outcome in outcomes {
            switch outcome.result {
            case .events(let events):
                w.u32(0)
                w.u32(UInt32(events.count))
                for event in events { w.data(event) }
            case .dropped:
                w.u32(1)
            case .failed(let error):
                w.u32(2)
                w.string(error.code.rawValue)
                w.string(error.message)
                w.string(error.file)
                w.int(error.line)
                w.int(error.column)
                w.string(error.stack)
            }
            w.u32(UInt32(outcome.logs.count))
            for line in outcome.logs { w.string(line) }
        }
        return w.frame
    }

    static func decode(_ payload: [UInt8]) throws(WireError) -> [TransformOutcome] {
        var r = WireReader(payload)
        var outcomes: [TransformOutcome] = []
        for _ in 0..<(try r.u32()) {
            let result: TransformOutcome.Result
            switch try r.u32() {
            case 0:
                var events: [[UInt8]] = []
                for _ in 0..<(try r.u32()) { events.append(try r.data()) }
                result = .events(events)
            case 1:
                result = .dropped
            case 2:
                let code = TransformationError.Code(try r.string())
                let message = try r.string()
                let file = try r.string()
                let line = try r.int()
                let column = try r.int()
                let stack = try r.string()
                result = .failed(
                    TransformationError(
                        code: code, message: message, file: file.isEmpty ? nil : file, line: line, column: column,
                        stack: stack.isEmpty ? nil : stack))
            default:
                throw WireError()
            }
            var logs: [String] = []
            for _ in 0..<(try r.u32()) { logs.append(try r.string()) }
            outcomes.append(TransformOutcome(result: result, logs: logs))
        }
        return outcomes
    }
}

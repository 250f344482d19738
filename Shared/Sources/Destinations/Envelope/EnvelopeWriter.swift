import EventModel

/// Writes envelope JSON straight into bytes, without building a `JSON` tree first. The output is
/// byte for byte what serialising the envelope's ``DeliveryJob/json`` gives (keys in the same
/// order, the same escaping); the envelopes fall back to the tree where it would differ (repeated
/// header or form names, whose later value replaces the earlier in place).
struct EnvelopeWriter: ~Copyable {
    /// One buffer for the whole envelope: mapped bodies are written into it, not serialised
    /// apart and copied in.
    var json: JSONWriter
    /// Copied for a value that is the event it was kept for (see ``JSONText``).
    let eventText: JSONText?

    init(capacity: Int, reusing eventText: JSONText? = nil) {
        json = JSONWriter(capacity: capacity)
        self.eventText = eventText
    }

    mutating func raw(_ text: StaticString) { json.raw(text) }

    /// A quoted JSON string, escaped as EventModel's serialiser escapes it.
    mutating func string(_ value: String) { json.string(value) }

    mutating func integer(_ value: Int) { json.integer(Int64(value)) }

    /// `"key":"value",` style member: a quoted key (known not to need escaping), a colon, a string.
    mutating func member(_ key: StaticString, _ value: String) {
        raw(key)
        string(value)
    }

    mutating func value(_ value: JSON) {
        if let eventText, eventText.write(value, to: &json) { return }
        json.value(value)
    }

    /// The envelope's bytes.
    consuming func finish() -> [UInt8] { json.finish() }

    /// Whether `names` has a repeat (compared exactly, as `JSONObject` does).
    static func hasRepeats(_ names: some Collection<String>) -> Bool {
        let count = names.count
        guard count > 1 else { return false }
        if count <= 8 {
            // A request's few headers: pairwise, without hashing or allocating a set.
            var index = names.startIndex
            while index != names.endIndex {
                let name = names[index]
                names.formIndex(after: &index)
                if names[index...].contains(name) { return true }
            }
            return false
        }
        var seen = Set<String>(minimumCapacity: count)
        for name in names where !seen.insert(name).inserted { return true }
        return false
    }
}

extension DestinationRequest {
    /// Whether ``write(to:)`` gives the same bytes as serialising ``json``.
    var isDirectlyWritable: Bool {
        if EnvelopeWriter.hasRepeats(headers.lazy.map(\.name)) { return false }
        if case .form(let fields) = body, EnvelopeWriter.hasRepeats(fields.lazy.map { $0.0 }) { return false }
        return true
    }

    /// Appends ``json``'s serialisation. Only when ``isDirectlyWritable``.
    func write(to writer: inout EnvelopeWriter) {
        writer.member("{\"method\":", method.rawValue)
        writer.member(",\"url\":", url)
        writer.raw(",\"headers\":{")
        for (index, header) in headers.enumerated() {
            if index > 0 { writer.raw(",") }
            writer.string(header.name)
            writer.raw(":")
            writer.string(header.value)
        }
        writer.raw("},\"body\":")
        switch body {
        case .none: writer.raw("null")
        case .json(let value): writer.value(value)
        case .form(let fields):
            writer.raw("{")
            for (index, field) in fields.enumerated() {
                if index > 0 { writer.raw(",") }
                writer.string(field.0)
                writer.raw(":")
                writer.string(field.1)
            }
            writer.raw("}")
        }
        writer.member(",\"bodyFormat\":", body.format)
        writer.raw("}")
    }
}

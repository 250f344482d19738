import EventModel

/// Writes envelope JSON straight into bytes, without building a `JSON` tree first. The output is
/// byte for byte what serialising the envelope's ``DeliveryJob/json`` gives (keys in the same
/// order, the same escaping); the envelopes fall back to the tree where it would differ (repeated
/// header or form names, whose later value replaces the earlier in place).
struct EnvelopeWriter {
    var bytes: [UInt8] = []

    init(capacity: Int) { bytes.reserveCapacity(capacity) }

    mutating func raw(_ text: StaticString) {
        bytes.append(contentsOf: UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }

    /// A quoted JSON string: copied as is when nothing needs escaping, else by EventModel's escaper.
    mutating func string(_ value: String) {
        var value = value
        let copied = value.withUTF8 { utf8 -> Bool in
            for byte in utf8 where byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") { return false }
            bytes.append(UInt8(ascii: "\""))
            bytes.append(contentsOf: utf8)
            bytes.append(UInt8(ascii: "\""))
            return true
        }
        if !copied { JSON.serialize(string: value, into: &bytes) }
    }

    /// `"key":"value",` style member: a quoted key (known not to need escaping), a colon, a string.
    mutating func member(_ key: StaticString, _ value: String) {
        raw(key)
        string(value)
    }

    mutating func value(_ json: JSON) { json.serialize(into: &bytes) }

    /// Whether `names` has a repeat (compared exactly, as `JSONObject` does).
    static func hasRepeats(_ names: some Collection<String>) -> Bool {
        guard names.count > 1 else { return false }
        var seen = Set<String>(minimumCapacity: names.count)
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

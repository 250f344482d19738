/// The value of a message on the ingest topic: one event and where it came from.
///
/// Wire form (docs/architecture.md): `{"workspaceId":"acme","sourceId":"web","event":{...}}`.
/// The gateway writes it by splicing bytes with ``serializePrefix(workspaceId:sourceId:into:)``
/// and ``suffix``; consumers read it with ``init(parsing:)-([UInt8])``.
public struct IngestRecord: Sendable, Equatable {
    public var workspaceId: String
    public var sourceId: String
    /// The event object as sent, plus the gateway's enrichment fields.
    public var event: JSON

    public init(workspaceId: String, sourceId: String, event: JSON) {
        self.workspaceId = workspaceId
        self.sourceId = sourceId
        self.event = event
    }

    /// Reads a record from its JSON value; the event must be an object.
    public init(json: JSON) throws(EnvelopeError) {
        guard case .object(let object) = json else {
            throw EnvelopeError(code: .wrongType, reason: "ingest record is not a JSON object")
        }
        workspaceId = try Self.string(object, "workspaceId")
        sourceId = try Self.string(object, "sourceId")
        guard let event = object["event"] else {
            throw EnvelopeError(code: .missingField, reason: "ingest record has no event")
        }
        guard case .object = event else {
            throw EnvelopeError(code: .wrongType, reason: "ingest record event is not an object")
        }
        self.event = event
    }

    /// Parses a record from a message value.
    public init(parsing bytes: [UInt8]) throws(EnvelopeError) {
        let json: JSON
        do {
            json = try JSON(parsing: bytes)
        } catch {
            throw EnvelopeError(code: .invalidJSON, reason: "ingest record: \(error)")
        }
        try self.init(json: json)
    }

    /// Parses a record from a message value and keeps the event's text when it is exactly what
    /// serialising the parsed event writes (``JSONText``), so that an unchanged event can be
    /// written again by copying it.
    public static func parsingKeepingEventText(_ bytes: [UInt8]) throws(EnvelopeError) -> (IngestRecord, JSONText?) {
        let parsed: (JSON, Range<Int>?)
        do {
            parsed = try bytes.withUnsafeBufferPointer { buffer in
                try Result { () throws(JSONError) in try JSONParser.parseCapturingMember(buffer, named: "event") }.get()
            }
        } catch {
            throw EnvelopeError(code: .invalidJSON, reason: "ingest record: \(error)")
        }
        let record = try IngestRecord(json: parsed.0)
        guard let range = parsed.1, case .object(let object) = record.event else { return (record, nil) }
        return (record, JSONText(bytes: bytes[range], object: object))
    }

    /// Parses a record from a message value in memory (e.g. a Kafka payload).
    public init(parsing buffer: UnsafeRawBufferPointer) throws(EnvelopeError) {
        let json: JSON
        do {
            json = try JSON(parsing: buffer)
        } catch {
            throw EnvelopeError(code: .invalidJSON, reason: "ingest record: \(error)")
        }
        try self.init(json: json)
    }

    /// The message value.
    public func serialized() -> [UInt8] {
        var buffer: [UInt8] = []
        buffer.reserveCapacity(512)
        serialize(into: &buffer)
        return buffer
    }

    /// Appends the message value to `buffer`.
    public func serialize(into buffer: inout [UInt8]) {
        Self.serializePrefix(workspaceId: workspaceId, sourceId: sourceId, into: &buffer)
        event.serialize(into: &buffer)
        buffer.append(contentsOf: Self.suffix)
    }

    /// Appends `{"workspaceId":…,"sourceId":…,"event":`; follow it with the event's bytes and
    /// ``suffix``.
    public static func serializePrefix(workspaceId: String, sourceId: String, into buffer: inout [UInt8]) {
        buffer.append(contentsOf: #"{"workspaceId":"#.utf8)
        JSON.serialize(string: workspaceId, into: &buffer)
        buffer.append(contentsOf: #","sourceId":"#.utf8)
        JSON.serialize(string: sourceId, into: &buffer)
        buffer.append(contentsOf: #","event":"#.utf8)
    }

    /// The bytes that close a record after the event: `}`.
    public static let suffix: [UInt8] = [UInt8(ascii: "}")]

    private static func string(_ object: JSONObject, _ field: String) throws(EnvelopeError) -> String {
        guard let value = object[field] else {
            throw EnvelopeError(code: .missingField, reason: "ingest record has no \(field)")
        }
        guard case .string(let text) = value else {
            throw EnvelopeError(code: .wrongType, reason: "ingest record \(field) is not a string")
        }
        return text
    }
}

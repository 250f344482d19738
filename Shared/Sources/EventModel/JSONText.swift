/// The serialised text of one JSON object, kept from the bytes it was parsed from, so that
/// writing that same object again copies the bytes instead of walking the tree.
///
/// Only made when the input is exactly what ``JSON/serialized()`` writes for the parsed tree
/// (compact, no escapes but those the serialiser writes, numbers in their serialised form, no
/// repeated keys; see ``IngestRecord/parsingKeepingEventText(_:)``), so writing the text or the
/// tree gives the same bytes. It stands for one tree only: ``write(_:to:)`` copies the text when
/// handed that tree (the same storage, not merely an equal value) and declines anything else, so
/// a changed or transformed event is always serialised from its tree.
public struct JSONText: Sendable {
    /// The object's text, from `{` to `}`.
    let bytes: ArraySlice<UInt8>
    /// Members appended to the object since it was parsed, already serialised, each `"key":value`
    /// preceded by a comma.
    let appended: [UInt8]
    /// The tree this text stands for.
    let object: JSONObject

    init(bytes: ArraySlice<UInt8>, object: JSONObject) {
        self.bytes = bytes
        self.appended = []
        self.object = object
    }

    private init(bytes: ArraySlice<UInt8>, appended: [UInt8], object: JSONObject) {
        self.bytes = bytes
        self.appended = appended
        self.object = object
    }

    /// The text of `updated`, which must be this text's object with one member `key` appended
    /// at the end (as setting an absent key does) and nothing else changed; `nil` when `updated`
    /// visibly is not (not an object, another count, another last key).
    public func appending(member key: String, of updated: JSON) -> JSONText? {
        guard case .object(let updatedObject) = updated, updatedObject.count == object.count + 1,
            let last = updatedObject.entries.last, last.key == key
        else { return nil }
        var writer = ByteWriter(capacity: appended.count + key.utf8.count + 32)
        appended.withUnsafeBufferPointer { writer.write($0) }
        if object.count > 0 { writer.write(.comma) }
        JSON.writeString(key, to: &writer)
        writer.write(.colon)
        last.value.write(to: &writer)
        return JSONText(bytes: bytes, appended: writer.makeArray(), object: updatedObject)
    }

    /// Whether this is the text of `value`: the same object storage.
    public func isText(of value: JSON) -> Bool {
        guard case .object(let other) = value else { return false }
        return object.sharesStorage(with: other)
    }

    /// Writes the text when `value` is its tree and returns `true`; else writes nothing and
    /// returns `false`.
    public func write(_ value: JSON, to writer: inout JSONWriter) -> Bool {
        guard isText(of: value) else { return false }
        if appended.isEmpty {
            bytes.withUnsafeBufferPointer { writer.output.write($0) }
        } else {
            bytes.dropLast().withUnsafeBufferPointer { writer.output.write($0) }
            appended.withUnsafeBufferPointer { writer.output.write($0) }
            writer.output.write(.closeBrace)
        }
        return true
    }
}

extension JSONObject {
    /// Whether both objects use the same member storage, so are the same value without
    /// comparing (copies share storage until one is changed).
    func sharesStorage(with other: JSONObject) -> Bool {
        entries.withUnsafeBufferPointer { mine in
            other.entries.withUnsafeBufferPointer { theirs in
                mine.baseAddress == theirs.baseAddress && mine.count == theirs.count
            }
        }
    }
}

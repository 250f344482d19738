/// Writes compact JSON text straight into one growing byte buffer, for callers that splice
/// JSON together (envelopes around mapped bodies) without building a tree for the whole.
///
/// What ``value(_:)`` and ``string(_:)`` write is exactly what ``JSON/serialized()`` writes for
/// the same value. ``raw(_:)`` appends bytes as they are: the caller answers for their validity.
public struct JSONWriter: ~Copyable {
    var output: ByteWriter

    /// A writer with room for `capacity` bytes before it grows.
    public init(capacity: Int = 256) {
        output = ByteWriter(capacity: capacity)
    }

    /// Bytes written so far.
    public var count: Int { output.count }

    /// Appends `text` as is (e.g. `{"key":`).
    @inline(__always)
    public mutating func raw(_ text: StaticString) { output.write(text) }

    /// Appends `bytes` as is.
    public mutating func raw(_ bytes: UnsafeBufferPointer<UInt8>) { output.write(bytes) }

    /// Appends `bytes` as is.
    public mutating func raw(_ bytes: [UInt8]) { bytes.withUnsafeBufferPointer { output.write($0) } }

    /// Appends `value` as a quoted, escaped JSON string.
    public mutating func string(_ value: String) { JSON.writeString(value, to: &output) }

    /// Appends the decimal digits of `value`.
    public mutating func integer(_ value: Int64) { JSON.writeInteger(value, to: &output) }

    /// Appends the compact JSON text of `value`.
    public mutating func value(_ value: JSON) { value.write(to: &output) }

    /// Everything written, as an array.
    public consuming func finish() -> [UInt8] { output.makeArray() }
}

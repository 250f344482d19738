/// A JSON value, parsed once and read cheaply.
///
/// Objects keep their keys in document order (``JSONObject``), so a value serialises back in the
/// order it was read. Integer literals that fit `Int64` are kept exactly as ``int(_:)``; every
/// other number is a ``double(_:)``. Parse with ``init(parsing:)-(String)`` and write with
/// ``serialized()``: both work on UTF-8 bytes directly, without Foundation.
public enum JSON: Sendable, Equatable {
    case null
    case bool(Bool)
    /// An integer literal that fits `Int64`.
    case int(Int64)
    /// Any other number. Non-finite values serialise as `null`, as in JavaScript.
    case double(Double)
    case string(String)
    case array([JSON])
    case object(JSONObject)
}

extension JSON: CustomStringConvertible {
    /// The compact JSON text of the value.
    public var description: String { jsonString }
}

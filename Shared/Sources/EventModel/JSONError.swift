/// A JSON text could not be parsed.
///
/// `reason` is one of a fixed set of messages written by the parser; it never quotes the input,
/// so the description is safe to show to the client that sent the text.
public struct JSONError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Byte offset in the input where the problem was found.
    public var offset: Int
    /// What was wrong, e.g. `"trailing comma"`.
    public var reason: String

    public init(offset: Int, reason: String) {
        self.offset = offset
        self.reason = reason
    }

    public var description: String { "invalid JSON at byte \(offset): \(reason)" }
}

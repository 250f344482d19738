/// A Kafka message value is not the envelope its topic carries.
///
/// The description names the problem and the field, never the payload, so it is safe to log.
public struct EnvelopeError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What kind of problem; compare against the static members.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        public let name: String

        public init(_ name: String) { self.name = name }

        /// The value is not valid JSON.
        public static let invalidJSON = Code("invalidJSON")
        /// A required field is absent.
        public static let missingField = Code("missingField")
        /// A field has the wrong JSON type.
        public static let wrongType = Code("wrongType")

        public var description: String { name }
    }

    public var code: Code
    public var reason: String

    public init(code: Code, reason: String) {
        self.code = code
        self.reason = reason
    }

    public var description: String { "\(code): \(reason)" }
}

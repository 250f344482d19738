/// A transformation's JavaScript source: an ES module exporting `transformEvent(event, metadata)`
/// and/or `transformBatch(events, metadata)`.
public struct TransformationCode: Sendable, Hashable {
    /// Shown as the file name in errors and stacks.
    public var id: String
    public var code: String

    public init(id: String, code: String) {
        self.id = id
        self.code = code
    }
}

/// A library module a transformation can `import { f } from "name"`.
public struct LibraryCode: Sendable, Hashable {
    public var name: String
    public var code: String

    public init(name: String, code: String) {
        self.name = name
        self.code = code
    }
}

/// What `metadata(event)` returns inside the transformation.
public struct TransformMetadata: Sendable, Hashable {
    public var sourceId: String
    public var sourceType: String
    public var destinationId: String
    public var destinationType: String
    public var messageId: String
    public var workspaceId: String

    public init(
        sourceId: String = "", sourceType: String = "", destinationId: String = "", destinationType: String = "",
        messageId: String = "", workspaceId: String = ""
    ) {
        self.sourceId = sourceId
        self.sourceType = sourceType
        self.destinationId = destinationId
        self.destinationType = destinationType
        self.messageId = messageId
        self.workspaceId = workspaceId
    }
}

/// One event to transform: its JSON bytes (an object) and its metadata.
public struct TransformInput: Sendable {
    public var event: [UInt8]
    public var metadata: TransformMetadata

    public init(event: [UInt8], metadata: TransformMetadata) {
        self.event = event
        self.metadata = metadata
    }
}

/// What became of one input.
public struct TransformOutcome: Sendable {
    public enum Result: Sendable {
        /// One or more output events (JSON objects, UTF-8). More than one is a fan-out.
        case events([[UInt8]])
        /// The transformation returned null/undefined (or an empty array) for this event.
        case dropped
        case failed(TransformationError)
    }

    public var result: Result
    /// Lines written with `log(...)`/`console.log(...)` while this event was transformed
    /// (bounded per event). For `transformBatch`, all lines go to the batch's first input.
    public var logs: [String]

    public init(result: Result, logs: [String] = []) {
        self.result = result
        self.logs = logs
    }
}

/// A per-event transformation failure. The description is safe to show to the workspace's users
/// (it carries the JavaScript message and position, never event payloads added by Keel).
public struct TransformationError: Error, Sendable, Hashable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let rawValue: String
        public init(_ rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        /// The transformation threw, or its promise rejected.
        public static let exception = Code("exception")
        /// The call ran past the time limit and was stopped.
        public static let timeout = Code("timeout")
        /// The transformation's memory outgrew the limit and it was stopped.
        public static let memoryLimit = Code("memory_limit")
        /// The transformation or a library did not compile, link or evaluate.
        public static let compile = Code("compile")
        /// The result was not an event object, an array, null or undefined, or not serialisable.
        public static let invalidOutput = Code("invalid_output")
        /// An engine failure (input not JSON, engine could not start, shut down).
        public static let engine = Code("engine")
    }

    public var code: Code
    public var message: String
    public var file: String?
    public var line: Int?
    public var column: Int?
    public var stack: String?

    public init(
        code: Code, message: String, file: String? = nil, line: Int? = nil, column: Int? = nil, stack: String? = nil
    ) {
        self.code = code
        self.message = message
        self.file = file
        self.line = line
        self.column = column
        self.stack = stack
    }

    /// Whether the same input may succeed if retried (the engine itself failed); a transformation's
    /// own errors are not retryable.
    public var isRetryable: Bool { code == .engine }

    public var description: String {
        var text = "\(code): \(message)"
        if let file, let line, line > 0 { text += " (\(file):\(line)\(column.map { ":\($0)" } ?? ""))" }
        return text
    }
}

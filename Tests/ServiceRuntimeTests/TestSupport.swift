import Logging
import ServiceRuntime
import Synchronization

/// Collects log lines written through a `LogSink`.
final class CapturedLines: Sendable {
    private let bytes = Mutex<[UInt8]>([])

    var sink: LogSink {
        LogSink { line in self.bytes.withLock { $0.append(contentsOf: line) } }
    }

    /// Everything written, split at newlines (the trailing empty piece dropped).
    var lines: [String] {
        let text = self.bytes.withLock { String(decoding: $0, as: UTF8.self) }
        var pieces = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if pieces.last == "" { pieces.removeLast() }
        return pieces
    }

    var rawText: String {
        self.bytes.withLock { String(decoding: $0, as: UTF8.self) }
    }
}

/// A Boolean that tests flip while a readiness check reads it.
final class Flag: Sendable {
    private let value: Mutex<Bool>
    init(_ initial: Bool) { self.value = Mutex(initial) }
    func set(_ newValue: Bool) { self.value.withLock { $0 = newValue } }
    func get() -> Bool { self.value.withLock { $0 } }
}

/// Counts calls.
final class CallCounter: Sendable {
    private let value = Mutex(0)
    func increment() { self.value.withLock { $0 += 1 } }
    var count: Int { self.value.withLock { $0 } }
}

/// A logger that drops everything, for code under test that needs one.
let quietLogger = Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }

public import Logging

/// A swift-log handler for people at a terminal (`KEEL_LOG_FORMAT=text`):
///
/// ```
/// 2026-11-29T13:04:52.123Z info router: started topic=keel.ingest
/// ```
///
/// Newlines and other control characters in the message and values are escaped so that one
/// event is always one line.
public struct TextLogHandler: LogHandler {
    public var logLevel: Logger.Level
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?

    private let service: String
    private let sink: LogSink

    public init(
        service: String,
        logLevel: Logger.Level = .info,
        metadataProvider: Logger.MetadataProvider? = nil,
        sink: LogSink = .standardError
    ) {
        self.service = service
        self.logLevel = logLevel
        self.metadataProvider = metadataProvider
        self.sink = sink
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { self.metadata[key] }
        set { self.metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        let merged = mergedMetadata(handler: self.metadata, provider: self.metadataProvider, call: event.metadata, error: event.error)
        var line: [UInt8] = []
        line.reserveCapacity(160)
        LogTimestamp.now(into: &line)
        line.append(UInt8(ascii: " "))
        line.append(contentsOf: event.level.rawValue.utf8)
        line.append(UInt8(ascii: " "))
        line.append(contentsOf: self.service.utf8)
        line.append(contentsOf: ": ".utf8)
        Self.appendEscaped(event.message.description, into: &line)
        for (key, value) in flatten(merged) {
            line.append(UInt8(ascii: " "))
            Self.appendEscaped(key, into: &line)
            line.append(UInt8(ascii: "="))
            var rendered: [UInt8] = []
            switch value {
            case .string(let string): rendered = Array(string.utf8)
            case .stringConvertible(let convertible): rendered = Array(convertible.description.utf8)
            case .array, .dictionary: JSONText.appendValue(value, into: &rendered)
            }
            Self.appendEscaped(String(decoding: rendered, as: UTF8.self), into: &line)
        }
        line.append(UInt8(ascii: "\n"))
        self.sink.write(line)
    }

    private static func appendEscaped(_ string: String, into bytes: inout [UInt8]) {
        for byte in string.utf8 {
            switch byte {
            case 0x0A: bytes.append(contentsOf: "\\n".utf8)
            case 0x0D: bytes.append(contentsOf: "\\r".utf8)
            case 0x09: bytes.append(contentsOf: "\\t".utf8)
            case 0x00..<0x20, 0x7F: bytes.append(UInt8(ascii: "?"))
            default: bytes.append(byte)
            }
        }
    }
}

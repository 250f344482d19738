public import Logging

/// A swift-log handler that writes one JSON object per line:
///
/// ```json
/// {"timestamp":"2026-11-29T13:04:52.123Z","level":"info","service":"router","logger":"keel","message":"started","topic":"keel.ingest"}
/// ```
///
/// Metadata is flattened into the object: nested dictionaries become `parent.child` keys, arrays
/// become JSON arrays of strings, every value is a string. A metadata key that collides with a fixed
/// field (`timestamp`, `level`, `service`, `logger`, `message`) is written as `meta.<key>`.
/// Strings are escaped per RFC 8259 (quotes, backslashes and every control character).
public struct JSONLogHandler: LogHandler {
    public var logLevel: Logger.Level
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?

    private let label: String
    private let service: String
    private let sink: LogSink

    /// - Parameters:
    ///   - label: the logger's label, written as `logger`.
    ///   - service: the service name, written as `service` on every line.
    ///   - logLevel: the minimum level written.
    ///   - metadataProvider: contributes metadata to every line (e.g. from task locals).
    ///   - sink: where lines go; standard error by default.
    public init(
        label: String,
        service: String,
        logLevel: Logger.Level = .info,
        metadataProvider: Logger.MetadataProvider? = nil,
        sink: LogSink = .standardError
    ) {
        self.label = label
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
        let merged = mergedMetadata(
            handler: self.metadata,
            provider: self.metadataProvider,
            call: event.metadata,
            error: event.error
        )
        var line: [UInt8] = []
        line.reserveCapacity(256)
        line.append(UInt8(ascii: "{"))
        JSONText.appendKey("timestamp", into: &line)
        line.append(UInt8(ascii: "\""))
        LogTimestamp.now(into: &line)
        line.append(UInt8(ascii: "\""))
        line.append(UInt8(ascii: ","))
        JSONText.appendKey("level", into: &line)
        JSONText.appendString(event.level.rawValue, into: &line)
        line.append(UInt8(ascii: ","))
        JSONText.appendKey("service", into: &line)
        JSONText.appendString(self.service, into: &line)
        line.append(UInt8(ascii: ","))
        JSONText.appendKey("logger", into: &line)
        JSONText.appendString(self.label, into: &line)
        line.append(UInt8(ascii: ","))
        JSONText.appendKey("message", into: &line)
        JSONText.appendString(event.message.description, into: &line)
        for (key, value) in flatten(merged) {
            line.append(UInt8(ascii: ","))
            let name = Self.reservedKeys.contains(key) ? "meta." + key : key
            JSONText.appendKey(name, into: &line)
            JSONText.appendValue(value, into: &line)
        }
        line.append(UInt8(ascii: "}"))
        line.append(UInt8(ascii: "\n"))
        self.sink.write(line)
    }

    private static let reservedKeys: Set<String> = ["timestamp", "level", "service", "logger", "message"]
}

/// Handler metadata, then the provider's, then the call's: later ones win on the same key. An
/// error attached to the event is added as `error` unless the call set that key.
func mergedMetadata(
    handler: Logger.Metadata,
    provider: Logger.MetadataProvider?,
    call: Logger.Metadata?,
    error: (any Error)?
) -> Logger.Metadata {
    var merged = handler
    if let provided = provider?.get(), !provided.isEmpty {
        merged.merge(provided) { _, new in new }
    }
    if let call, !call.isEmpty {
        merged.merge(call) { _, new in new }
    }
    if let error, merged[LogKey.error] == nil {
        merged[LogKey.error] = .string(String(describing: error))
    }
    return merged
}

/// Flattens nested dictionaries into dotted keys, sorted by key so lines are stable.
func flatten(_ metadata: Logger.Metadata) -> [(String, Logger.Metadata.Value)] {
    var result: [(String, Logger.Metadata.Value)] = []
    func walk(_ metadata: Logger.Metadata, prefix: String) {
        for key in metadata.keys.sorted() {
            let value = metadata[key]!
            if case .dictionary(let nested) = value {
                walk(nested, prefix: prefix + key + ".")
            } else {
                result.append((prefix + key, value))
            }
        }
    }
    walk(metadata, prefix: "")
    return result
}

/// Hand-written JSON text output: just what log lines need.
enum JSONText {
    static func appendKey(_ key: String, into bytes: inout [UInt8]) {
        appendString(key, into: &bytes)
        bytes.append(UInt8(ascii: ":"))
    }

    static func appendValue(_ value: Logger.Metadata.Value, into bytes: inout [UInt8]) {
        switch value {
        case .string(let string):
            appendString(string, into: &bytes)
        case .stringConvertible(let convertible):
            appendString(convertible.description, into: &bytes)
        case .array(let values):
            bytes.append(UInt8(ascii: "["))
            for (index, element) in values.enumerated() {
                if index > 0 { bytes.append(UInt8(ascii: ",")) }
                appendValue(element, into: &bytes)
            }
            bytes.append(UInt8(ascii: "]"))
        case .dictionary(let dictionary):
            bytes.append(UInt8(ascii: "{"))
            for (index, key) in dictionary.keys.sorted().enumerated() {
                if index > 0 { bytes.append(UInt8(ascii: ",")) }
                appendKey(key, into: &bytes)
                appendValue(dictionary[key]!, into: &bytes)
            }
            bytes.append(UInt8(ascii: "}"))
        }
    }

    /// A quoted JSON string: `"` and `\` escaped, control characters (U+0000–U+001F, U+007F) as
    /// short escapes or `\u00XX`. Other UTF-8 is copied as is (Swift strings are valid UTF-8).
    static func appendString(_ string: String, into bytes: inout [UInt8]) {
        bytes.append(UInt8(ascii: "\""))
        for byte in string.utf8 {
            switch byte {
            case UInt8(ascii: "\""): bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\"")])
            case UInt8(ascii: "\\"): bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\\")])
            case 0x0A: bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "n")])
            case 0x0D: bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "r")])
            case 0x09: bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "t")])
            case 0x08: bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "b")])
            case 0x0C: bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "f")])
            case 0x00..<0x20, 0x7F:
                bytes.append(contentsOf: [
                    UInt8(ascii: "\\"), UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"),
                    hexDigits[Int(byte >> 4)], hexDigits[Int(byte & 0x0F)],
                ])
            default:
                bytes.append(byte)
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }

    private static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)
}

public import Logging

/// Installs Keel's log handlers process-wide. Call once, first thing in `main`; libraries never
/// call it (they take a `Logger`), and neither do tests (they build handlers with a capturing
/// ``LogSink``) — swift-log allows a single bootstrap per process.
public enum LoggingBootstrap {
    /// Routes every `Logger` of the process to a JSON or text handler writing to standard error,
    /// at `configuration.logLevel`, with `configuration.service` on every line.
    public static func bootstrap(_ configuration: RuntimeConfiguration) {
        let format = configuration.logFormat
        let service = configuration.service.rawValue
        let level = configuration.logLevel
        LoggingSystem.bootstrap { label in
            makeHandler(label: label, service: service, format: format, level: level)
        }
    }

    /// The handler ``bootstrap(_:)`` installs, writing to `sink`.
    public static func makeHandler(
        label: String,
        service: String,
        format: LogFormat,
        level: Logger.Level,
        metadataProvider: Logger.MetadataProvider? = nil,
        sink: LogSink = .standardError
    ) -> any LogHandler {
        switch format {
        case .json:
            JSONLogHandler(label: label, service: service, logLevel: level, metadataProvider: metadataProvider, sink: sink)
        case .text:
            TextLogHandler(service: service, logLevel: level, metadataProvider: metadataProvider, sink: sink)
        }
    }
}

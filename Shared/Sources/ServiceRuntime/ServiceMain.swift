#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
public import Logging
public import ServiceLifecycle

/// The parts of a service's `main.swift` that are the same for all six, so each `main` stays a
/// readable page: read the configuration, bootstrap logging and metrics, build, run.
///
/// ```swift
/// let configuration = ServiceMain.configuration(for: .router)
/// LoggingBootstrap.bootstrap(configuration)
/// let metrics = MetricsBootstrap.bootstrap()
/// let logger = Logger(label: "keel")
/// await ServiceMain.run(configuration: configuration, logger: logger) {
///     try await buildRouter(configuration: configuration, logger: logger, metrics: metrics)
/// }
/// ```
public enum ServiceMain {
    /// Reads ``RuntimeConfiguration`` from the process environment; on a malformed value prints
    /// `<service>: <variable>: expected …` to standard error and exits with status 2.
    public static func configuration(for service: KeelService) -> RuntimeConfiguration {
        do {
            return try RuntimeConfiguration(service: service, environment: ProcessEnvironment.current())
        } catch {
            printToStandardError("\(service): \(error)\n")
            exit(2)
        }
    }

    /// Builds the process's `ServiceGroup` and runs it until it finishes. Returns (exit status 0)
    /// after a graceful shutdown (SIGTERM, SIGINT); logs the error and exits with status 1 when
    /// building fails or a service throws.
    public static func run(
        configuration: RuntimeConfiguration,
        logger: Logger,
        build: () async throws -> ServiceGroup
    ) async {
        logger.info(
            "starting",
            metadata: [
                "admin": "\(configuration.adminHost):\(configuration.adminPort)",
                "database": "\(configuration.redactedDatabaseURL)",
                "kafka": "\(configuration.kafkaBrokers)",
                "topicPrefix": "\(configuration.topicPrefix)",
                "allocator": "\(MemoryAllocator.description)",
                LogKey.workspace: "\(configuration.workspace ?? "(the only one stored)")",
            ]
        )
        do {
            let group = try await build()
            try await group.run()
        } catch {
            logger.critical("stopped with an error", metadata: [LogKey.error: "\(error)"])
            exit(1)
        }
        logger.info("stopped")
    }

    private static func printToStandardError(_ text: String) {
        var bytes = Array(text.utf8)
        bytes.withUnsafeMutableBytes { buffer in
            _ = write(2, buffer.baseAddress, buffer.count)
        }
    }
}

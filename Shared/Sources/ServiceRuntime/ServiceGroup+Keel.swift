public import Logging
public import ServiceLifecycle
import UnixSignals

extension ServiceGroupConfiguration {
    /// The configuration of a Keel process's one `ServiceGroup`.
    ///
    /// - `services` run in the given order and stop in reverse, so list them in dependency order:
    ///   Postgres client, configuration store, Kafka producer, consumers or workers, and the HTTP
    ///   servers last (they stop first, so a load balancer sees the process leave before its
    ///   dependencies go away).
    /// - SIGTERM and SIGINT trigger graceful shutdown; a second signal is not needed, the group
    ///   cancels whatever is still running after `maximumGracefulShutdownDuration`.
    /// - When any service returns or throws, the whole group shuts down gracefully, so a failure
    ///   ends the process (with the error) instead of leaving it half alive.
    public static func keel(
        services: [any Service],
        logger: Logger,
        maximumGracefulShutdownDuration: Duration = .seconds(30)
    ) -> ServiceGroupConfiguration {
        var configuration = ServiceGroupConfiguration(
            services: services.map {
                ServiceGroupConfiguration.ServiceConfiguration(
                    service: $0,
                    successTerminationBehavior: .gracefullyShutdownGroup,
                    failureTerminationBehavior: .gracefullyShutdownGroup
                )
            },
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger
        )
        configuration.maximumGracefulShutdownDuration = maximumGracefulShutdownDuration
        return configuration
    }
}

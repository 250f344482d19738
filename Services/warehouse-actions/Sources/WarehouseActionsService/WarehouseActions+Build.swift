import Logging
import KafkaTransport
import ServiceLifecycle
import ServiceRuntime
import Storage
import WorkspaceConfig

/// The warehouse-actions process as `main` runs it and as tests start it.
///
/// Today this is the skeleton every Keel service shares: it migrates the `warehouse_actions` schema, loads
/// the workspace configuration, and serves the admin endpoints, ready when Postgres answers,
/// Kafka answers, the configuration is loaded and the schema is migrated. It does not yet
/// diff warehouse models and produce events to `keel.ingest`; that arrives with its own issue.
///
/// Services, in dependency order (they stop in reverse): database, configuration store,
/// Kafka producer, schema migration, admin server.
public func buildWarehouseActions(
    configuration: RuntimeConfiguration,
    logger: Logger,
    metrics: MetricsRegistry
) throws -> ServiceGroup {
    let database = Database(configuration: try DatabaseConfiguration(url: configuration.databaseURL), logger: logger)
    let config = ConfigStore(
        database: database,
        configuration: .init(workspace: configuration.workspace),
        logger: logger
    )
    let kafka = try KafkaProducer(
        configuration: .init(bootstrapServers: configuration.kafkaBrokers),
        logger: logger
    )
    let migrations = StartupStep("migrations") {
        try await database.migrate(schema: WarehouseActionsSchema.name, migrations: WarehouseActionsSchema.migrations, logger: logger)
    }
    let readiness = Readiness(
        checks: [
            ReadinessCheck("postgres") { await database.isReachable() },
            ReadinessCheck("kafka") { await kafka.isReachable() },
            ReadinessCheck("config") { config.current != nil },
            migrations.readinessCheck,
        ],
        logger: logger
    )
    let admin = AdminServer(
        configuration: .init(configuration),
        readiness: readiness,
        registry: metrics,
        logger: logger
    )
    return ServiceGroup(configuration: .keel(services: [database, config, kafka, migrations, admin], logger: logger))
}

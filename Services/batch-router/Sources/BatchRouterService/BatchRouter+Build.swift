import AsyncHTTPClient
import EventModel
import KafkaTransport
import Logging
import ServiceLifecycle
import ServiceRuntime
import Storage
import WorkspaceConfig

/// The batch-router process as `main` runs it and as tests start it.
///
/// Services, in dependency order (they stop in reverse): database, configuration store, Kafka
/// producer (for the readiness probe), `keel.batch` consumer, schema migration, the router, admin
/// server. Ready when Postgres and Kafka answer, the configuration is loaded and the schema is
/// migrated.
///
/// - Parameters:
///   - secrets: resolves `${ENV}` references in destination settings (built from the process
///     environment in `main`).
///   - afterFlush: see ``BatchRouter/FlushHook`` (tests only).
public func buildBatchRouter(
    configuration: RuntimeConfiguration,
    settings: BatchRouterSettings = BatchRouterSettings(),
    secrets: SecretResolver = SecretResolver(environment: [:]),
    logger: Logger,
    metrics: MetricsRegistry,
    afterFlush: BatchRouter.FlushHook? = nil
) throws -> ServiceGroup {
    let database = Database(configuration: try DatabaseConfiguration(url: configuration.databaseURL), logger: logger)
    let config = ConfigStore(
        database: database,
        configuration: .init(workspace: configuration.workspace),
        secrets: secrets,
        logger: logger
    )
    let kafka = try KafkaProducer(
        configuration: .init(bootstrapServers: configuration.kafkaBrokers),
        logger: logger
    )
    var consumerConfiguration = KafkaConsumer.Configuration(
        bootstrapServers: configuration.kafkaBrokers,
        groupID: settings.consumerGroup,
        topics: [Topics(prefix: configuration.topicPrefix).batch]
    )
    consumerConfiguration.maxBatchSize = settings.kafkaBatchSize
    consumerConfiguration.additionalProperties.merge(settings.kafkaProperties) { _, new in new }
    let consumer = try KafkaConsumer(configuration: consumerConfiguration, logger: logger)
    let migrations = StartupStep("migrations") {
        try await database.migrate(schema: BatchRouterSchema.name, migrations: BatchRouterSchema.migrations, logger: logger)
    }
    let router = BatchRouter(
        consumer: consumer, config: config, database: database, settings: settings, secrets: secrets, logger: logger,
        metricsFactory: MetricsBootstrap.makeFactory(registry: metrics), afterFlush: afterFlush)
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
    return ServiceGroup(
        configuration: .keel(services: [database, config, kafka, consumer, migrations, router, admin], logger: logger))
}

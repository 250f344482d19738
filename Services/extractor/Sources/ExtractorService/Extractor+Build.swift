import Logging
import ServiceLifecycle
import ServiceRuntime
import Storage
import WorkspaceConfig

/// The extractor process as `main` runs it and as tests start it.
///
/// Today this is the skeleton every Keel service shares: it migrates the `extractor` schema, loads
/// the workspace configuration, and serves the admin endpoints, ready when Postgres answers,
/// the configuration is loaded and the schema is migrated. It does not yet
/// sync cloud-tool streams into warehouse tables on a schedule; that arrives with its own issue.
///
/// No Kafka check: the extractor reads cloud APIs and writes warehouses; it neither produces to
/// nor consumes from Kafka (docs/architecture.md, DESIGN.md).
///
/// Services, in dependency order (they stop in reverse): database, configuration store,
/// schema migration, admin server.
public func buildExtractor(
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
    let migrations = StartupStep("migrations") {
        try await database.migrate(schema: ExtractorSchema.name, migrations: ExtractorSchema.migrations, logger: logger)
    }
    let readiness = Readiness(
        checks: [
            ReadinessCheck("postgres") { await database.isReachable() },
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
    return ServiceGroup(configuration: .keel(services: [database, config, migrations, admin], logger: logger))
}

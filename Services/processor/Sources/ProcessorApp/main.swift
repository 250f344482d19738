import Destinations
import KafkaTransport
import Logging
import ProcessorService
import ServiceLifecycle
import ServiceRuntime
import Storage
import WorkspaceConfig

// The processor: `keel.ingest` in; dedup, filters, transformations; `keel.deliver.<type>` and
// `keel.batch` out. See docs/processor.md.
let runtime = ServiceMain.configuration(for: .processor)
LoggingBootstrap.bootstrap(runtime)
let registry = MetricsBootstrap.bootstrap()
let logger = Logger(label: "keel.processor")

await ServiceMain.run(configuration: runtime, logger: logger) {
    let environment = ProcessEnvironment.current()
    let configuration = try ProcessorConfiguration(
        topicPrefix: runtime.topicPrefix, kafkaBrokers: runtime.kafkaBrokers, environment: environment)
    let database = Database(configuration: try DatabaseConfiguration(url: runtime.databaseURL), logger: logger)
    let secrets = SecretResolver(environment: environment)
    let configStore = ConfigStore(
        database: database, configuration: .init(workspace: runtime.workspace), secrets: secrets, logger: logger)
    let admin = try KafkaAdmin(configuration: .init(bootstrapServers: runtime.kafkaBrokers), logger: logger)
    try await admin.createTopics(DestinationRegistry.standard.topics(configuration.topics).map { .init(name: $0, partitions: runtime.topicPartitions) })

    let transformer = try makeJavaScriptTransformer(configStore: configStore)
    let parts = try buildProcessor(
        configuration: configuration, database: database, configStore: configStore, secrets: secrets,
        transformer: transformer,
        tuneConsumer: { $0.additionalProperties.merge(runtime.kafkaConsumerProperties) { _, new in new } },
        tuneProducer: { $0.additionalProperties.merge(runtime.kafkaProducerProperties) { _, new in new } },
        logger: logger)
    let readiness = Readiness(checks: parts.readinessChecks, logger: logger)
    let adminServer = AdminServer(configuration: .init(runtime), readiness: readiness, registry: registry, logger: logger)
    return ServiceGroup(configuration: .keel(services: [database] + parts.services + [adminServer], logger: logger))
}

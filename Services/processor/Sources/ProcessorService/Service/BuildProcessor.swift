import CoreMetrics
import Destinations
import EventModel
import KafkaTransport
import Logging
import ServiceLifecycle
import ServiceRuntime
import Storage
import Transformations
import WorkspaceConfig

/// The processor's parts, wired the same way for `main` and for tests.
public struct ProcessorParts: Sendable {
    /// In start order: config store, producer, consumer, processor loop. `main` puts the
    /// ``Storage/Database`` before them and the admin server after.
    public let services: [any Service]
    public let producer: KafkaProducer
    public let consumer: KafkaConsumer
    public let processor: ProcessorService
    public let batchProcessor: BatchProcessor
    public var readinessChecks: [ReadinessCheck] { [processor.readinessCheck] }
}

/// Builds the processor from its dependencies. The database must be running (in the same
/// `ServiceGroup`, before these services, or already, as in tests).
///
/// - Parameters:
///   - tuneConsumer: adjusts the Kafka consumer's settings (tests shorten session timeouts).
public func buildProcessor(
    configuration: ProcessorConfiguration,
    database: Database,
    configStore: ConfigStore,
    secrets: SecretResolver,
    transformer: any UserTransformer = UnavailableUserTransformer(),
    registry: DestinationRegistry = .standard,
    metricsFactory: any MetricsFactory = MetricsSystem.factory,
    tuneConsumer: (inout KafkaConsumer.Configuration) -> Void = { _ in },
    tuneProducer: (inout KafkaProducer.Configuration) -> Void = { _ in },
    logger: Logger
) throws -> ProcessorParts {
    var producerConfiguration = KafkaProducer.Configuration(bootstrapServers: configuration.kafkaBrokers)
    producerConfiguration.clientID = "keel-processor"
    tuneProducer(&producerConfiguration)
    let producer = try KafkaProducer(configuration: producerConfiguration, logger: logger)

    var consumerConfiguration = KafkaConsumer.Configuration(
        bootstrapServers: configuration.kafkaBrokers, groupID: configuration.consumerGroup,
        topics: [configuration.topics.ingest])
    consumerConfiguration.clientID = "keel-processor"
    consumerConfiguration.maxBatchSize = configuration.maxBatchSize
    tuneConsumer(&consumerConfiguration)
    let consumer = try KafkaConsumer(configuration: consumerConfiguration, logger: logger)

    let routing = RoutingCache(registry: registry, secrets: secrets) { [configStore] in configStore.snapshot }
    let batchProcessor = BatchProcessor(
        configuration: configuration, pipeline: EventPipeline(topics: configuration.topics, transformer: transformer),
        database: database, producer: producer, routing: routing,
        metrics: ProcessorMetrics(registry: registry, factory: metricsFactory), logger: logger)
    let processor = ProcessorService(
        consumer: consumer, processor: batchProcessor, database: database, configStore: configStore,
        configuration: configuration, logger: logger)
    return ProcessorParts(
        services: [configStore, producer, consumer, processor], producer: producer, consumer: consumer,
        processor: processor, batchProcessor: batchProcessor)
}

/// The user transformer `main` uses: SpiderMonkey in-process (module `Transformations`), with the
/// transformation and libraries looked up in the current workspace version; `fetch` reaches the
/// hosts in the workspace's `settings.transformations.fetchAllowedHosts`.
public func makeJavaScriptTransformer(configStore: ConfigStore) throws -> any UserTransformer {
    JavaScriptUserTransformer(engine: try TransformationEngine(), configStore: configStore)
}

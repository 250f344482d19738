import EventModel
import GatewayService
import KafkaTransport
import Logging
import ServiceLifecycle
import ServiceRuntime
import Storage
import WorkspaceConfig

// The gateway: HTTP in, `keel.ingest` out. See docs/gateway.md.
let runtime = ServiceMain.configuration(for: .gateway)
LoggingBootstrap.bootstrap(runtime)
let registry = MetricsBootstrap.bootstrap()
let logger = Logger(label: "keel.gateway")

await ServiceMain.run(configuration: runtime, logger: logger) {
    let environment = ProcessEnvironment.current()
    let configuration = try GatewayConfiguration(environment: environment, topicPrefix: runtime.topicPrefix)
    let topic = Topics(prefix: runtime.topicPrefix).ingest
    let database = Database(configuration: try DatabaseConfiguration(url: runtime.databaseURL), logger: logger)
    let configStore = ConfigStore(
        database: database, configuration: .init(workspace: runtime.workspace),
        secrets: SecretResolver(environment: environment), logger: logger)

    var kafka = KafkaProducer.Configuration(bootstrapServers: runtime.kafkaBrokers)
    kafka.clientID = "keel-gateway"
    kafka.messageTimeout = configuration.ackTimeout  // a 503 means librdkafka gave the events up
    kafka.requestTimeout = configuration.ackTimeout
    kafka.linger = configuration.kafkaLinger
    kafka.additionalProperties.merge(runtime.kafkaProducerProperties) { _, new in new }
    let producer = try KafkaProducer(configuration: kafka, logger: logger)
    let admin = try KafkaAdmin(configuration: .init(bootstrapServers: runtime.kafkaBrokers), logger: logger)
    try await admin.createTopics([.init(name: topic, partitions: runtime.topicPartitions)])

    // Ready once Kafka answers with the ingest topic's metadata (which also warms the producer)
    // and a workspace is loaded.
    let readiness = Readiness(logger: logger)
    await readiness.register("kafka") { (try? await producer.waitUntilReady(timeout: .seconds(2), topics: [topic])) != nil }
    await readiness.register("config") { configStore.snapshot != nil }
    let adminServer = AdminServer(configuration: .init(runtime), readiness: readiness, registry: registry, logger: logger)
    let gateway = buildGateway(
        configuration: configuration, producer: producer, sources: ConfigStoreSources(store: configStore), logger: logger)
    return ServiceGroup(
        configuration: .keel(services: [database, configStore, producer, adminServer, gateway], logger: logger))
}

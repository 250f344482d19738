import AsyncHTTPClient
import EventModel
import KafkaTransport
import Logging
import RouterService
import ServiceLifecycle
import ServiceRuntime
import Storage
import WorkspaceConfig

// The router: `keel.deliver.*` in, HTTP to cloud tools out. See docs/router.md.
let runtime = ServiceMain.configuration(for: .router)
LoggingBootstrap.bootstrap(runtime)
let registry = MetricsBootstrap.bootstrap()
let logger = Logger(label: "keel.router")

await ServiceMain.run(configuration: runtime, logger: logger) {
    let environment = ProcessEnvironment.current()
    let settings = try RouterSettings(environment: environment)
    let database = Database(configuration: try DatabaseConfiguration(url: runtime.databaseURL), logger: logger)
    let configStore = ConfigStore(
        database: database, configuration: .init(workspace: runtime.workspace),
        secrets: SecretResolver(environment: environment), logger: logger)
    let topics = Topics(prefix: runtime.topicPrefix)
    var kafka = KafkaConsumer.Configuration(bootstrapServers: runtime.kafkaBrokers, groupID: "router", topics: [topics.deliverPattern])
    kafka.clientID = "keel-router"
    kafka.additionalProperties.merge(runtime.kafkaConsumerProperties) { _, new in new }
    let consumer = try KafkaConsumer(configuration: kafka, logger: logger)
    let (httpClient, httpClientsByType) = HTTPDeliverer.makeClients(settings)
    let sealer = try JobSealer(environmentValue: environment["KEEL_STORED_JOB_KEYS"])
    let services = buildRouter(
        settings: settings, database: database, consumer: consumer, httpClient: httpClient, httpClientsByType: httpClientsByType,
        topics: topics, sealer: sealer, policies: DeliveryPolicy.provider(from: configStore), logger: logger)

    let readiness = Readiness(logger: logger)
    await readiness.register("postgres") { await database.isReachable() }
    await readiness.register("config") { configStore.snapshot != nil }
    let adminServer = AdminServer(configuration: .init(runtime), readiness: readiness, registry: registry, logger: logger)
    return ServiceGroup(
        configuration: .keel(services: [database, configStore, consumer] + services + [adminServer], logger: logger))
}

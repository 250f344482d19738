// The batch-router executable: configuration from the environment (docs/architecture.md and
// docs/batch-router.md), JSON logs on stderr, Prometheus metrics and health on the admin port,
// until SIGTERM/SIGINT.
import BatchRouterService
import Foundation
import Logging
import ServiceRuntime
import WorkspaceConfig

let configuration = ServiceMain.configuration(for: .batchRouter)
let environment = ProcessEnvironment.current()
var settings: BatchRouterSettings
do {
    settings = try BatchRouterSettings(environment: environment)
    settings.kafkaProperties.merge(configuration.kafkaConsumerProperties) { _, new in new }
} catch {
    FileHandle.standardError.write(Data("batch-router: \(error)\n".utf8))
    exit(2)
}
LoggingBootstrap.bootstrap(configuration)
let metrics = MetricsBootstrap.bootstrap()
let logger = Logger(label: "keel.batch-router")

await ServiceMain.run(configuration: configuration, logger: logger) {
    try buildBatchRouter(
        configuration: configuration, settings: settings, secrets: SecretResolver(environment: environment),
        logger: logger, metrics: metrics)
}

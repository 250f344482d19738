// The batch-router executable: configuration from the environment (docs/architecture.md), JSON logs
// on stderr, Prometheus metrics and health on the admin port, until SIGTERM/SIGINT.
import Logging
import BatchRouterService
import ServiceRuntime

let configuration = ServiceMain.configuration(for: .batchRouter)
LoggingBootstrap.bootstrap(configuration)
let metrics = MetricsBootstrap.bootstrap()
let logger = Logger(label: "keel.batch-router")

await ServiceMain.run(configuration: configuration, logger: logger) {
    try buildBatchRouter(configuration: configuration, logger: logger, metrics: metrics)
}

// The extractor executable: configuration from the environment (docs/architecture.md), JSON logs
// on stderr, Prometheus metrics and health on the admin port, until SIGTERM/SIGINT.
import Logging
import ExtractorService
import ServiceRuntime

let configuration = ServiceMain.configuration(for: .extractor)
LoggingBootstrap.bootstrap(configuration)
let metrics = MetricsBootstrap.bootstrap()
let logger = Logger(label: "keel.extractor")

await ServiceMain.run(configuration: configuration, logger: logger) {
    try buildExtractor(configuration: configuration, logger: logger, metrics: metrics)
}

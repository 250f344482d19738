// The warehouse-actions executable: configuration from the environment (docs/architecture.md), JSON logs
// on stderr, Prometheus metrics and health on the admin port, until SIGTERM/SIGINT.
import Logging
import WarehouseActionsService
import ServiceRuntime

let configuration = ServiceMain.configuration(for: .warehouseActions)
LoggingBootstrap.bootstrap(configuration)
let metrics = MetricsBootstrap.bootstrap()
let logger = Logger(label: "keel.warehouse-actions")

await ServiceMain.run(configuration: configuration, logger: logger) {
    try buildWarehouseActions(configuration: configuration, logger: logger, metrics: metrics)
}

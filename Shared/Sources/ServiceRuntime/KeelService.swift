/// The six Keel executables. The raw value is the binary name, which is also the `service` field
/// of every log line and the consumer group name of services that consume from Kafka.
public enum KeelService: String, Sendable, CaseIterable, CustomStringConvertible {
    case gateway
    case processor
    case router
    case batchRouter = "batch-router"
    case extractor
    case warehouseActions = "warehouse-actions"

    /// The admin port (`/metrics`, `/health/*`) a service listens on unless `KEEL_ADMIN_PORT` says
    /// otherwise: 9181 gateway … 9186 warehouse-actions, so all six can run on one machine.
    public var defaultAdminPort: Int {
        switch self {
        case .gateway: 9181
        case .processor: 9182
        case .router: 9183
        case .batchRouter: 9184
        case .extractor: 9185
        case .warehouseActions: 9186
        }
    }

    public var description: String { self.rawValue }
}

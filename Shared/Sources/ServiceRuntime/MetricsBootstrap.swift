public import Metrics
public import Prometheus

/// The Prometheus registry type, re-exported so services need not import swift-prometheus.
public typealias MetricsRegistry = PrometheusCollectorRegistry

/// Installs swift-prometheus as the process's swift-metrics backend.
///
/// `main` calls ``bootstrap()`` and hands the registry to the admin server; library code makes
/// metrics with swift-metrics (`Counter(label:dimensions:)`, or with `factory:` when a test
/// wants its own registry). Tests never bootstrap: swift-metrics allows one bootstrap per process
/// and all test targets share one process. They use ``makeFactory(registry:)`` instead.
public enum MetricsBootstrap {
    /// Installs the Prometheus factory on first call (thread-safe, once per process) and returns
    /// the registry it writes to. Later calls return the same registry.
    @discardableResult
    public static func bootstrap() -> MetricsRegistry {
        installedRegistry
    }

    /// A swift-metrics factory backed by `registry`, for tests and for code that takes a factory.
    public static func makeFactory(registry: MetricsRegistry) -> any MetricsFactory {
        PrometheusMetricsFactory(registry: registry)
    }

    private static let installedRegistry: MetricsRegistry = {
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        return registry
    }()
}

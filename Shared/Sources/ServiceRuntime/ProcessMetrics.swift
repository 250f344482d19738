#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Prometheus
import Synchronization

/// The process's own figures, refreshed each time `/metrics` is scraped: the usual Prometheus
/// `process_*` series (CPU, resident and virtual memory, file descriptors) and, when
/// jemalloc serves `malloc` (``MemoryAllocator``), what the allocator holds:
///
/// - `keel_allocator_allocated_bytes`: bytes in live allocations;
/// - `keel_allocator_active_bytes`: bytes in the pages those allocations use;
/// - `keel_allocator_resident_bytes`: bytes of the allocator's memory in RAM, freed pages it
///   keeps for reuse included (jemalloc returns them after `dirty_decay_ms`, 10 s by default);
/// - `keel_allocator_retained_bytes`: address space kept mapped but returned to the kernel.
///
/// A resident size far above `allocated` is memory kept for reuse, not a leak.
public final class ProcessMetrics: Sendable {
    private let cpuSeconds: Counter
    private let residentBytes: Gauge
    private let virtualBytes: Gauge
    private let openDescriptors: Gauge
    private let maxDescriptors: Gauge
    private let allocator: [(statistic: String, gauge: Gauge)]
    /// CPU seconds already added to the counter (it only increments).
    private let countedCPU = Mutex<Double>(0)

    /// The metrics of `registry`, made once per registry (so that two admin routers on one
    /// registry do not count the CPU twice).
    public static func on(_ registry: MetricsRegistry) -> ProcessMetrics {
        instances.withLock { instances in
            let key = ObjectIdentifier(registry)
            if let existing = instances[key] { return existing.metrics }
            let made = ProcessMetrics(registry: registry)
            instances[key] = (registry, made)
            return made
        }
    }

    /// The registry is kept with its metrics: a freed registry's address could be reused by a new
    /// one, which would then be handed the old registry's gauges.
    private static let instances = Mutex<[ObjectIdentifier: (registry: MetricsRegistry, metrics: ProcessMetrics)]>([:])

    private init(registry: MetricsRegistry) {
        cpuSeconds = registry.makeCounter(name: "process_cpu_seconds_total", help: "User and system CPU time of the process.")
        residentBytes = registry.makeGauge(name: "process_resident_memory_bytes", help: "Resident set size.")
        virtualBytes = registry.makeGauge(name: "process_virtual_memory_bytes", help: "Virtual memory size.")
        openDescriptors = registry.makeGauge(name: "process_open_fds", help: "Open file descriptors.")
        maxDescriptors = registry.makeGauge(name: "process_max_fds", help: "The soft limit on open file descriptors.")
        if MemoryAllocator.jemallocVersion != nil {
            allocator = [
                ("stats.allocated", "keel_allocator_allocated_bytes", "Bytes in live allocations (jemalloc)."),
                ("stats.active", "keel_allocator_active_bytes", "Bytes in pages holding live allocations (jemalloc)."),
                ("stats.resident", "keel_allocator_resident_bytes", "Bytes of allocator memory in RAM, pages kept for reuse included (jemalloc)."),
                ("stats.retained", "keel_allocator_retained_bytes", "Address space kept mapped but returned to the kernel (jemalloc)."),
            ].map { ($0.0, registry.makeGauge(name: $0.1, help: $0.2)) }
        } else {
            allocator = []
        }
    }

    /// Reads the figures into the gauges; called before each scrape.
    public func refresh() {
        var usage = rusage()
        if getrusage(RUSAGE_SELF.rawValue, &usage) == 0 {
            let total = Self.seconds(usage.ru_utime) + Self.seconds(usage.ru_stime)
            let delta = countedCPU.withLock { counted -> Double in
                let delta = max(0, total - counted)
                counted += delta
                return delta
            }
            if delta > 0 { cpuSeconds.increment(by: delta) }
        }
        if let pages = Self.statm() {
            let pageSize = Double(sysconf(Int32(_SC_PAGESIZE)))
            virtualBytes.set(Double(pages.size) * pageSize)
            residentBytes.set(Double(pages.resident) * pageSize)
        }
        if let count = Self.openDescriptorCount() { openDescriptors.set(Double(count)) }
        var limit = rlimit()
        if getrlimit(Self.fileLimit, &limit) == 0 { maxDescriptors.set(Double(limit.rlim_cur)) }
        if !allocator.isEmpty, let values = Jemalloc.statistics(allocator.map(\.statistic)) {
            for (entry, value) in zip(allocator, values) { entry.gauge.set(Double(value)) }
        }
    }

    private static func seconds(_ time: timeval) -> Double { Double(time.tv_sec) + Double(time.tv_usec) / 1e6 }

    #if canImport(Glibc)
    private static let fileLimit = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
    #else
    private static let fileLimit = RLIMIT_NOFILE
    #endif

    /// `/proc/self/statm`: total and resident pages (Linux only).
    private static func statm() -> (size: Int, resident: Int)? {
        let descriptor = open("/proc/self/statm", O_RDONLY)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        var buffer = [UInt8](repeating: 0, count: 128)
        let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
        guard count > 0 else { return nil }
        let fields = buffer[..<count].split(separator: UInt8(ascii: " ")).prefix(2).compactMap { Int(String(decoding: $0, as: UTF8.self)) }
        guard fields.count == 2 else { return nil }
        return (fields[0], fields[1])
    }

    /// Entries of `/proc/self/fd`, less the directory handle reading it (Linux only).
    private static func openDescriptorCount() -> Int? {
        guard let directory = opendir("/proc/self/fd") else { return nil }
        defer { closedir(directory) }
        var count = 0
        while let entry = readdir(directory) {
            let isDot = withUnsafeBytes(of: entry.pointee.d_name) { $0.first == UInt8(ascii: ".") }
            if !isDot { count += 1 }
        }
        return count - 1
    }
}

extension TransformationEngine {
    /// Limits and sizing of the engine. Every limit is always on.
    public struct Configuration: Sendable {
        /// Worker threads, each with its own JavaScript context. Default: one per core.
        public var workers: Int = System.coreCount
        /// Time per `transformEvent` call, or per `transformBatch` call; fetches count against it.
        public var timeLimit: Duration = .seconds(4)
        /// Memory of one transformation version (its zone: GC heap and malloc'd buffers) while it runs.
        public var memoryLimitBytes: Int = 128 << 20
        /// Native stack JavaScript may use on a worker thread (the thread has this plus 4 MiB).
        public var stackLimitBytes: Int = 4 << 20
        /// Time per fetch; further capped by the time left in the call.
        public var fetchTimeout: Duration = .seconds(2)
        /// Largest fetch response accepted.
        public var maxFetchResponseBytes: Int = 1 << 20
        /// A PEM file of certificate authorities that `https://` fetches trust in addition to the
        /// system's (for an internal CA). Certificates are always verified; there is no option to
        /// turn verification off.
        public var fetchCAFile: String? = nil
        /// Log lines kept per event, and their total size.
        public var maxLogLinesPerEvent: Int = 100
        public var maxLogBytesPerEvent: Int = 16 << 10
        /// Compiled transformation versions kept per worker (least recently used evicted).
        public var realmsPerWorker: Int = 64
        /// Batches waiting for a worker before callers of `transform` are suspended.
        public var queueCapacity: Int = 0  // 0: 2 × workers
        /// Where transformations run: in this process, or (hardened mode) in separate worker
        /// processes, one per worker, each with its own resource limits, restarted when they die.
        public var isolation: Isolation = .inProcess
        /// Hardened mode: the address-space limit (`RLIMIT_AS`) of each worker process. SpiderMonkey
        /// reserves address space generously, hence the large default.
        public var workerAddressSpaceBytes: Int = 8 << 30

        public init() {}
    }

    public enum Isolation: Sendable, Equatable {
        case inProcess
        /// Hardened mode: the path of the `keel-transform-worker` executable.
        case workerProcesses(executable: String)
    }
}

import Glibc

enum System {
    static var coreCount: Int { max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))) }
}

extension Duration {
    var milliseconds: UInt32 {
        let (seconds, attoseconds) = components
        let ms = seconds * 1000 + attoseconds / 1_000_000_000_000_000
        return UInt32(clamping: max(ms, 1))
    }
}

import KafkaTransport
import Logging
import ServiceLifecycle
import ServiceRuntime
import Storage
import Synchronization
import WorkspaceConfig

/// The processor's loop: migrate the `processor` schema, wait for the first workspace version,
/// then for each consumed batch process it and store its offsets, up to
/// ``ProcessorConfiguration/pipelineDepth`` batches in flight (``BatchPipeline``); prune the dedup
/// window and old errors on the side. On graceful shutdown it stops reading and finishes the
/// batches in flight (offsets the consumer committed before they finished are read again by the
/// next run, and dropped as duplicates).
public final class ProcessorService: Service, Sendable {
    let consumer: KafkaConsumer
    let processor: BatchProcessor
    let database: Database
    let configStore: ConfigStore
    let configuration: ProcessorConfiguration
    let logger: Logger
    private let ready = Atomic<Bool>(false)

    public init(
        consumer: KafkaConsumer, processor: BatchProcessor, database: Database, configStore: ConfigStore,
        configuration: ProcessorConfiguration, logger: Logger
    ) {
        self.consumer = consumer
        self.processor = processor
        self.database = database
        self.configStore = configStore
        self.configuration = configuration
        self.logger = logger
    }

    /// Ready once the schema is migrated and a workspace version is loaded.
    public var readinessCheck: ReadinessCheck {
        ReadinessCheck("processor") { [self] in self.isReady }
    }

    /// Whether the schema is migrated and a workspace version loaded.
    public var isReady: Bool { ready.load(ordering: .acquiring) }

    public func run() async throws {
        try await database.migrate(schema: ProcessorSchema.name, migrations: ProcessorSchema.migrations, logger: logger)
        let snapshot = try await configStore.waitForFirstLoad()
        logger.info("processing", metadata: [LogKey.workspace: "\(snapshot.workspace.id)", "version": "\(snapshot.version)"])
        ready.store(true, ordering: .releasing)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await self.pruneLoop() }
            let consumer = self.consumer
            let processor = self.processor
            var pipeline = BatchPipeline<PreparedBatch>(
                depth: configuration.pipelineDepth,
                produce: { try await processor.produce($0) },
                commit: { prepared in
                    try await processor.commit(prepared)
                    consumer.storeOffsets(prepared.messages)
                })
            do {
                for await batch in consumer.messages.cancelOnGracefulShutdown() {
                    try await pipeline.submit(try await processor.prepare(batch))
                }
                try await pipeline.finish()
            } catch {
                await pipeline.cancel()
                throw error
            }
            group.cancelAll()
        }
    }

    private func pruneLoop() async {
        let dedup = DedupStore(database: database, window: configuration.dedupWindow)
        let errors = ErrorStore(database: database, maxPayloadBytes: configuration.maxErrorPayloadBytes)
        while !Task.isCancelled {
            do {
                try await Task.sleep(for: configuration.pruneInterval)
                let marks = try await dedup.prune(logger: logger)
                let rows = try await errors.prune(retention: configuration.errorRetention, logger: logger)
                if marks + rows > 0 {
                    logger.info("pruned", metadata: ["dedupMarks": "\(marks)", "errors": "\(rows)"])
                }
            } catch is CancellationError {
                return
            } catch {
                logger.warning("pruning failed; will retry", metadata: [LogKey.error: "\(error)"])
            }
        }
    }
}

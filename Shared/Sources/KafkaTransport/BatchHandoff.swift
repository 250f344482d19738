/// The state machine between the consumer thread (the writer, which polls librdkafka) and the
/// task iterating ``KafkaConsumer/messages`` (the reader).
///
/// At most `capacity` batches wait; when they do, the writer is told to wait until the reader
/// takes one, so processing speed is the backpressure and the buffer stays bounded. Pure: every
/// call returns what the caller must do after releasing the lock.
struct BatchHandoff<Batch> {
    enum PushAction {
        /// Resume this waiting reader with the batch.
        case resumeReader(UnsafeContinuation<Batch?, Never>, Batch)
        /// The batch is buffered.
        case buffered
        /// The buffer is full: wait for a signal, then push again.
        case waitAndRetry
        /// The handoff is finished; the batch is dropped.
        case dropped
    }

    enum NextAction {
        /// Return this batch; signal the writer if `signalWriter`.
        case batch(Batch, signalWriter: Bool)
        /// Return nil (end of sequence); signal the writer if `signalWriter`.
        case end(signalWriter: Bool)
        /// The continuation was stored; it is resumed by a later push or finish.
        case suspended
    }

    enum FinishAction {
        case none
        case resumeReaderWithEnd(UnsafeContinuation<Batch?, Never>, signalWriter: Bool)
        case signalWriter
    }

    let capacity: Int
    private(set) var buffered: [Batch] = []
    private var reader: UnsafeContinuation<Batch?, Never>?
    private var writerWaiting = false
    private(set) var isFinished = false
    /// The reader holds a batch it has not finished with (it has not asked for the next yet).
    private(set) var readerHoldsBatch = false

    init(capacity: Int) {
        precondition(capacity >= 1)
        self.capacity = capacity
    }

    mutating func push(_ batch: Batch) -> PushAction {
        if isFinished { return .dropped }
        if let reader {
            self.reader = nil
            readerHoldsBatch = true
            return .resumeReader(reader, batch)
        }
        if buffered.count < capacity {
            buffered.append(batch)
            return .buffered
        }
        writerWaiting = true
        return .waitAndRetry
    }

    /// The reader asks for the next batch (and so is done with the previous one).
    mutating func next(_ continuation: UnsafeContinuation<Batch?, Never>) -> NextAction {
        readerHoldsBatch = false
        let signal = writerWaiting
        writerWaiting = false
        if !buffered.isEmpty {
            readerHoldsBatch = true
            return .batch(buffered.removeFirst(), signalWriter: signal)
        }
        if isFinished { return .end(signalWriter: signal) }
        reader = continuation
        return .suspended
    }

    /// The waiting reader's task was cancelled.
    mutating func cancelReader() -> UnsafeContinuation<Batch?, Never>? {
        defer { reader = nil }
        return reader
    }

    /// No more batches: buffered ones are dropped (they were never handed out).
    mutating func finish() -> FinishAction {
        isFinished = true
        buffered = []
        let signal = writerWaiting
        writerWaiting = false
        if let reader {
            self.reader = nil
            return .resumeReaderWithEnd(reader, signalWriter: signal)
        }
        return signal ? .signalWriter : .none
    }

    /// After finishing, the writer wants to know whether the reader still works on a batch.
    /// Returns true (and marks the writer waiting) when it should wait for a signal.
    mutating func writerShouldWaitForReader() -> Bool {
        guard readerHoldsBatch else { return false }
        writerWaiting = true
        return true
    }

    /// The writer gave up waiting.
    mutating func writerStoppedWaiting() {
        writerWaiting = false
    }

    /// Removes buffered messages matching `isRevoked` (their partitions were revoked; they will
    /// be read again by the partition's next owner). Empty batches are dropped.
    mutating func removeMessages<Element>(where isRevoked: (Element) -> Bool) where Batch == [Element] {
        buffered = buffered.map { $0.filter { !isRevoked($0) } }.filter { !$0.isEmpty }
    }
}

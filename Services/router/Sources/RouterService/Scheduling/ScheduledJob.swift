import KafkaTransport

/// A topic partition the router consumes: KafkaTransport's own type, so assignments, committed
/// offsets and consumed messages need no conversion.
public typealias PartitionRef = TopicPartition

/// Where a job in memory came from, which decides what finishing it means: a Kafka job marks its
/// offset done; a job loaded from the parked table deletes its row.
public enum JobOrigin: Hashable, Sendable {
    case kafka(PartitionRef, offset: Int64)
    /// A parked row, with the partition its job was first consumed from (topic `""`, partition -1
    /// for rows of versions that did not keep it), which a failed event records.
    case parked(seq: Int64, from: PartitionRef)
}

/// A row of `router.parked` loaded back for delivery.
public struct ParkedRow: Sendable {
    public var seq: Int64
    public var job: DeliveryJob
    /// Where the job was first consumed from.
    public var partition: PartitionRef

    public init(seq: Int64, job: DeliveryJob, partition: PartitionRef = PartitionRef(topic: "", partition: -1)) {
        self.seq = seq
        self.job = job
        self.partition = partition
    }
}

/// A job the scheduler holds, with its delivery progress.
public struct ScheduledJob: Sendable {
    public var job: DeliveryJob
    public var origin: JobOrigin
    /// Attempts made so far.
    public var attempts: Int = 0
    public var firstAttemptAt: ContinuousClock.Instant?
    /// Index of the first request not yet answered 2xx (jobs with several requests resume there).
    public var nextRequest: Int = 0
    /// Timeout of one HTTP request: the destination's policy when the job was last sent.
    public var timeout: Duration = .seconds(30)
    /// How the job joins a batch request; `nil` when it is always sent alone.
    public var batch: BatchTicket?

    public init(job: DeliveryJob, origin: JobOrigin, batch: BatchTicket? = nil) {
        self.job = job
        self.origin = origin
        self.batch = batch
    }

    public var key: DeliveryKey { job.key }
}

/// Why an attempt did not deliver. `reason` and `responseExcerpt` never contain request headers.
public struct DeliveryFailure: Sendable, Equatable {
    public enum Kind: String, Sendable {
        /// An HTTP status outside 2xx.
        case status
        case timeout
        case connection
        /// The job itself cannot be sent (malformed, bad URL): never retried.
        case invalidJob
    }

    public var kind: Kind
    public var statusCode: Int?
    public var reason: String
    public var responseExcerpt: String?
    public var retryable: Bool
    /// The server's `Retry-After`, when it sent one.
    public var retryAfter: Duration?
    /// Requests of the job answered 2xx before this failure.
    public var completedRequests: Int

    public init(
        kind: Kind, statusCode: Int? = nil, reason: String, responseExcerpt: String? = nil, retryable: Bool,
        retryAfter: Duration? = nil, completedRequests: Int = 0
    ) {
        self.kind = kind
        self.statusCode = statusCode
        self.reason = reason
        self.responseExcerpt = responseExcerpt
        self.retryable = retryable
        self.retryAfter = retryAfter
        self.completedRequests = completedRequests
    }
}

/// The result of one attempt, as the HTTP side reports it to the scheduler.
public enum AttemptResult: Sendable {
    case delivered(statusCode: Int)
    case failed(DeliveryFailure)
}

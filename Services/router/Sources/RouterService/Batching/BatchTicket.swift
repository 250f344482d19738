import struct Destinations.BatchEntry
import struct Destinations.BatchGroup
import struct Destinations.BatchSpec
import struct Destinations.DestinationRegistry

/// What a job contributes to a batch request, worked out when the job is read (outside the
/// scheduler's lock): its items, group (jobs of one group may share a request) and size.
public struct BatchTicket: Sendable {
    public var entry: BatchEntry
    /// The job's size as consumed: an upper bound of what it adds to the batch body.
    public var bytes: Int

    public var group: BatchGroup { entry.group }
    public var items: Int { entry.items.count }
}

/// The batch specs of destination types (``DestinationRegistry/batchSpec(forType:)``), and the
/// ticket of a job.
public struct Batching: Sendable {
    public var specs: @Sendable (String) -> BatchSpec?

    public init(specs: @escaping @Sendable (String) -> BatchSpec? = { DestinationRegistry.standard.batchSpec(forType: $0) }) {
        self.specs = specs
    }

    /// The job's ticket, `nil` when it is sent alone: its type has no batch endpoint, or it has
    /// more than one request (a job's requests depend on each other), or no endpoint takes it.
    public func ticket(for job: DeliveryJob) -> BatchTicket? {
        guard job.requests.count == 1, let spec = specs(job.destinationType) else { return nil }
        guard let entry = spec.entry(for: job.requests[0]) else { return nil }
        let bytes = max(job.raw.count, 1)
        guard bytes <= entry.group.maxBytes else { return nil }
        return BatchTicket(entry: entry, bytes: bytes)
    }
}

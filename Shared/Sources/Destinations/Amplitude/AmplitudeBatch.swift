import EventModel

extension AmplitudeMapping {
    /// Batching: `POST …/2/httpapi` requests with the same `api_key` and `options` combine into one
    /// `POST …/batch` (Batch Event Upload API: same event format, at most 2000 events and 20 MB per
    /// request). A 400 lists the rejected events by index (`events_with_invalid_fields`,
    /// `events_with_missing_fields`, per field) and rejects the whole upload, so the router sends
    /// the others again without them (Amplitude's documented retry rule).
    static let batchSpec = BatchSpec([
        .objectArrays(
            name: "amplitude.batch", path: "/2/httpapi", batchPath: "/batch", arrays: ["events"], maxItems: 2000,
            maxBytes: 20_000_000,
            itemErrors: .init(statuses: [400], othersAccepted: false) { body in
                var errors: [BatchItemError] = []
                for (key, reason) in [("events_with_invalid_fields", "invalid field"), ("events_with_missing_fields", "missing field")] {
                    for (field, indices) in body[key]?.objectValue ?? JSONObject() {
                        for index in indices.arrayValue ?? [] {
                            guard let index = index.intValue else { continue }
                            errors.append(BatchItemError(field: "events", index: Int(index), message: "\(reason) \(field)"))
                        }
                    }
                }
                return errors
            })
    ])
}

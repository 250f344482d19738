import EventModel

extension MixpanelMapping {
    /// Batching: `/import` requests to the same URL with the same credentials combine by
    /// concatenating their arrays (at most 2000 events, 10 MB). With `strict=1` a 400 lists
    /// `failed_records` by index; Mixpanel imported the others. `/engage` updates combine the same
    /// way (2000 per request); a 4xx on them retries each request alone.
    static let batchSpec = BatchSpec([
        .topLevelArray(
            name: "mixpanel.import", path: "/import", maxItems: 2000, maxBytes: 10_000_000,
            itemErrors: .init(statuses: [400], othersAccepted: true) { body in
                (body["failed_records"]?.arrayValue ?? []).compactMap { record in
                    guard let index = record["index"]?.intValue else { return nil }
                    return BatchItemError(field: "", index: Int(index), message: record["message"]?.stringValue ?? "failed validation")
                }
            }),
        .topLevelArray(name: "mixpanel.engage", path: "/engage", maxItems: 2000, maxBytes: 2_000_000),
    ])
}

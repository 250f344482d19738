import EventModel

extension BrazeMapping {
    /// Batching: `/users/track` requests with the same key combine by concatenating their
    /// `attributes`, `events` and `purchases` arrays (Braze takes 75 objects per array; the router
    /// counts all three together, so a batch never passes 75 in any). A 2xx answer with `errors`
    /// (`{type, input_array, index}`) lists the objects Braze rejected; the others were processed.
    /// `/users/identify` requests are not batched.
    static let batchSpec = BatchSpec([
        .objectArrays(
            name: "braze.users.track", path: "/users/track", batchPath: "/users/track", arrays: ["attributes", "events", "purchases"],
            maxItems: 75, maxBytes: 4_000_000,
            itemErrors: .init(statuses: [200, 201], othersAccepted: true) { body in
                (body["errors"]?.arrayValue ?? []).compactMap { error in
                    guard let field = error["input_array"]?.stringValue, let index = error["index"]?.intValue else { return nil }
                    return BatchItemError(field: field, index: Int(index), message: error["type"]?.stringValue ?? "rejected")
                }
            })
    ])
}

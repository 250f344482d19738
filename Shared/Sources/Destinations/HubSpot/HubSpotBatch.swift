import EventModel

extension HubSpotMapping {
    /// Batching: contact upserts combine into one `POST /crm/v3/objects/contacts/batch/upsert` of up
    /// to 100 `inputs`, one per email (HubSpot rejects a batch naming an id twice: a job whose
    /// email is already in the open batch goes into the next); custom events combine into
    /// `POST /events/v3/send/batch` with up to 500 `inputs`. HubSpot's errors do not name the
    /// input by position, so a 4xx or a 207 (some inputs failed) sends each job alone again: an
    /// upsert is safe to repeat; an event HubSpot already took in the 207 is sent a second time.
    static let batchSpec = BatchSpec([
        .objectArrays(
            name: "hubspot.contacts.upsert", path: "/crm/v3/objects/contacts/batch/upsert", batchPath: "/crm/v3/objects/contacts/batch/upsert",
            arrays: ["inputs"], maxItems: 100, maxBytes: 3_000_000, uniqueItemField: "id", sendAloneOn: [207]),
        .wrappedBodies(
            name: "hubspot.events.send", path: "/events/v3/send", batchPath: "/events/v3/send/batch", field: "inputs", maxItems: 500,
            maxBytes: 3_000_000, sendAloneOn: [207]),
    ])
}

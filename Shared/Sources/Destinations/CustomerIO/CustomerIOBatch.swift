import EventModel

extension CustomerIOMapping {
    /// Batching through the Track API v2 `POST /api/v2/batch` `{batch: [entity operations]}`
    /// (at most 500 KB per request, 32 KB per operation), from the v1 requests the mapping makes:
    ///
    /// - `PUT /api/v1/customers/{id}` (identify) → `{type: "person", identifiers: {id}, action:
    ///   "identify", attributes}`;
    /// - `POST /api/v1/customers/{id}/events` `{name, type?, data, timestamp}` → `{type: "person",
    ///   identifiers: {id}, action: "event" | "page" | "screen", name, timestamp, attributes: data}`.
    ///
    /// Identifiers containing `@` (an email used as the identifier), anonymous events and merges
    /// are sent alone, as v1 requests: their v2 form is not the same operation. A 207 lists the
    /// rejected operations in `errors` by `batch_index`; the others were accepted.
    static let batchSpec = BatchSpec([
        BatchEndpoint(
            name: "customerio.v2.batch", method: .post, maxItems: 500, maxBytes: 500_000,
            split: { request in
                guard let item = v2Operation(request) else { return nil }
                return .init(batchURL: item.batchURL, shared: nil, items: [BatchItem(field: "batch", value: item.operation)])
            },
            merge: { _, items in ["batch": .array(items.map(\.value))] },
            itemErrors: .init(statuses: [207], othersAccepted: true) { body in
                (body["errors"]?.arrayValue ?? []).compactMap { error in
                    guard let index = error["batch_index"]?.intValue else { return nil }
                    let message = [error["reason"]?.stringValue, error["field"]?.stringValue, error["message"]?.stringValue]
                        .compactMap { $0 }.joined(separator: ": ")
                    return BatchItemError(field: "batch", index: Int(index), message: message.isEmpty ? "rejected" : message)
                }
            }),
    ])

    /// The v2 operation of a v1 identify or identified event, with the v2 batch URL.
    static func v2Operation(_ request: DestinationRequest) -> (batchURL: String, operation: JSON)? {
        guard let marker = request.url.range(of: "/api/v1/customers/"), !request.url.contains("?"), case .json(.object(let body)) = request.body
        else { return nil }
        let batchURL = request.url[..<marker.lowerBound] + "/api/v2/batch"
        let rest = request.url[marker.upperBound...]
        let parts = rest.split(separator: "/", omittingEmptySubsequences: false)
        guard let encoded = parts.first, let identifier = percentDecoded(encoded), !identifier.isEmpty,
            !identifier.contains("@")
        else { return nil }
        var operation = JSONObject()
        operation["type"] = "person"
        operation["identifiers"] = ["id": .string(identifier)]
        switch (request.method, parts.count) {
        case (.put, 1):
            operation["action"] = "identify"
            operation["attributes"] = .object(body)
        case (.post, 2) where parts[1] == "events":
            guard let name = body["name"]?.stringValue else { return nil }
            operation["action"] = .string(body["type"]?.stringValue ?? "event")
            operation["name"] = .string(name)
            if let timestamp = body["timestamp"] { operation["timestamp"] = timestamp }
            operation["attributes"] = body["data"] ?? .object(JSONObject())
        default:
            return nil
        }
        let value = JSON.object(operation)
        guard value.serialized().count <= 32_000 else { return nil }
        return (String(batchURL), value)
    }

    /// `%XX`-decoded text, `nil` when malformed or not UTF-8.
    static func percentDecoded(_ text: Substring) -> String? {
        var bytes: [UInt8] = []
        var iterator = text.utf8.makeIterator()
        while let byte = iterator.next() {
            guard byte == UInt8(ascii: "%") else {
                bytes.append(byte)
                continue
            }
            guard let high = iterator.next().flatMap(hexValue), let low = iterator.next().flatMap(hexValue) else { return nil }
            bytes.append(high << 4 | low)
        }
        return String(validating: bytes, as: UTF8.self)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}

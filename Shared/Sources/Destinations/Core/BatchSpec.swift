import EventModel

/// How single-event requests of one destination type combine into batch requests, and how the
/// tool's answer to a batch splits back per request. The router applies it (docs/router.md,
/// "Batching"); it never changes what a mapping produces for one event.
///
/// A spec is a list of ``BatchEndpoint``s. Each one recognises the requests it can batch (e.g.
/// Amplitude's `POST …/2/httpapi`), takes their items out (the `events` array) and the fields that
/// must be equal for requests to share a batch (`api_key`, `options`, the URL and headers), and
/// builds the batch request (`POST …/batch` with the items concatenated).
public struct BatchSpec: Sendable {
    public var endpoints: [BatchEndpoint]

    public init(_ endpoints: [BatchEndpoint]) {
        self.endpoints = endpoints
    }

    /// What `request` contributes to a batch, or `nil` when no endpoint batches it.
    public func entry(for request: DestinationRequest) -> BatchEntry? {
        for endpoint in endpoints {
            guard let parts = endpoint.split(request) else { continue }
            guard !parts.items.isEmpty, parts.items.count <= endpoint.maxItems else { return nil }
            let headerText = request.headers.map { "\($0.name.lowercased()):\($0.value)" }.sorted().joined(separator: "\n")
            let group = BatchGroup(
                endpoint: endpoint.name, url: parts.batchURL, headers: headerText, shared: parts.shared.map { $0.jsonString } ?? "",
                maxItems: endpoint.maxItems, maxBytes: endpoint.maxBytes)
            return BatchEntry(group: group, items: parts.items, uniqueId: parts.uniqueId)
        }
        return nil
    }

    /// The endpoint that made `group`.
    public func endpoint(of group: BatchGroup) -> BatchEndpoint? { endpoints.first { $0.name == group.endpoint } }

    /// The one request for `entries` (all of `group`, in order): method, URL, the first entry's
    /// headers, and the merged body.
    public func request(for entries: [BatchEntry], headers: [(name: String, value: String)]) -> DestinationRequest? {
        guard let first = entries.first, let endpoint = endpoint(of: first.group) else { return nil }
        let shared = first.group.shared.isEmpty ? nil : try? JSON(parsing: first.group.shared)
        return DestinationRequest(
            method: endpoint.method, url: first.group.url, headers: headers, body: .json(endpoint.merge(shared, entries.flatMap(\.items))))
    }
}

/// One item of a batch body: its value and the array it goes to (`events`, `attributes`; empty
/// for a body that is itself the array).
public struct BatchItem: Sendable, Equatable {
    public var field: String
    public var value: JSON

    public init(field: String, value: JSON) {
        self.field = field
        self.value = value
    }
}

/// Requests with equal groups may share one batch request: same endpoint, batch URL, headers and
/// shared body fields. Carries the endpoint's limits.
public struct BatchGroup: Sendable, Hashable {
    public var endpoint: String
    public var url: String
    /// Headers as sorted `name:value` lines (names lowercased).
    public var headers: String
    /// The shared body fields as JSON text (empty for none).
    public var shared: String
    public var maxItems: Int
    public var maxBytes: Int
}

/// What one request contributes to a batch.
public struct BatchEntry: Sendable {
    public var group: BatchGroup
    public var items: [BatchItem]
    /// A value that may appear only once per batch (HubSpot rejects a batch upsert with the same
    /// id twice): a request whose id is already in the open batch starts the next one.
    public var uniqueId: String?
}

/// One item the tool rejected in a batch answer: the array (`field`, as in ``BatchItem``) and
/// index in it, and the tool's message.
public struct BatchItemError: Sendable, Equatable {
    public var field: String
    public var index: Int
    public var message: String

    public init(field: String, index: Int, message: String) {
        self.field = field
        self.index = index
        self.message = message
    }
}

/// One batch endpoint of a tool.
public struct BatchEndpoint: Sendable {
    /// What ``split`` takes out of a request.
    public struct Parts: Sendable {
        public var batchURL: String
        public var shared: JSON?
        public var items: [BatchItem]
        public var uniqueId: String?

        public init(batchURL: String, shared: JSON?, items: [BatchItem], uniqueId: String? = nil) {
            self.batchURL = batchURL
            self.shared = shared
            self.items = items
            self.uniqueId = uniqueId
        }
    }

    /// How the tool reports rejected items of a batch.
    public struct ItemErrors: Sendable {
        /// Answers that may carry item errors (e.g. 400 for Amplitude and Mixpanel, 201 for Braze).
        public var statuses: Set<Int>
        /// Whether, in a non-2xx answer listing rejected items, the others were accepted (Mixpanel's
        /// 400). When not (Amplitude's 400), they are sent again without the rejected ones. In a 2xx
        /// answer (Braze's 201) the others were always accepted.
        public var othersAccepted: Bool
        /// The rejected items in an answer body; empty when none can be read.
        public var parse: @Sendable (JSON) -> [BatchItemError]

        public init(statuses: Set<Int>, othersAccepted: Bool, parse: @escaping @Sendable (JSON) -> [BatchItemError]) {
            self.statuses = statuses
            self.othersAccepted = othersAccepted
            self.parse = parse
        }
    }

    /// Names the endpoint within its spec (`amplitude.batch`).
    public var name: String
    /// Method of the batch request (``split`` decides which single requests it takes).
    public var method: DestinationRequest.Method
    /// Items per batch request, from the tool's documented limit.
    public var maxItems: Int
    /// Bytes per batch request (the router counts each job's size as an upper bound).
    public var maxBytes: Int
    /// The parts of a request this endpoint batches, `nil` for others.
    public var split: @Sendable (DestinationRequest) -> Parts?
    /// The batch body from the shared fields and the items in order.
    public var merge: @Sendable (JSON?, [BatchItem]) -> JSON
    /// `nil` when the tool does not report per-item errors: a 4xx then retries each request alone.
    public var itemErrors: ItemErrors?
    /// 2xx answers meaning that some items failed without saying which (HubSpot's 207): each
    /// request is sent alone again.
    public var sendAloneOn: Set<Int>

    public init(
        name: String, method: DestinationRequest.Method = .post, maxItems: Int, maxBytes: Int,
        split: @escaping @Sendable (DestinationRequest) -> Parts?,
        merge: @escaping @Sendable (JSON?, [BatchItem]) -> JSON, itemErrors: ItemErrors? = nil, sendAloneOn: Set<Int> = []
    ) {
        self.name = name
        self.method = method
        self.maxItems = maxItems
        self.maxBytes = maxBytes
        self.split = split
        self.merge = merge
        self.itemErrors = itemErrors
        self.sendAloneOn = sendAloneOn
    }

    /// An endpoint whose requests are JSON objects holding the items in `arrays` (all other fields
    /// shared), sent to the same URL with `path` replaced by `batchPath`.
    public static func objectArrays(
        name: String, path: String, batchPath: String, arrays: [String], maxItems: Int, maxBytes: Int, uniqueItemField: String? = nil,
        itemErrors: ItemErrors? = nil, sendAloneOn: Set<Int> = []
    ) -> BatchEndpoint {
        BatchEndpoint(
            name: name, maxItems: maxItems, maxBytes: maxBytes,
            split: { request in
                guard request.method == .post, let batchURL = BatchURL.replacingPath(request.url, path, with: batchPath),
                    case .json(.object(var object)) = request.body
                else {
                    return nil
                }
                var items: [BatchItem] = []
                for field in arrays {
                    guard let value = object.removeValue(forKey: field) else { continue }
                    guard case .array(let values) = value else { return nil }
                    items += values.map { BatchItem(field: field, value: $0) }
                }
                var uniqueId: String?
                if let uniqueItemField {
                    // Only requests of one item take part in the uniqueness rule.
                    guard items.count == 1 else { return nil }
                    uniqueId = items[0].value[uniqueItemField]?.jsonString
                }
                return Parts(batchURL: batchURL, shared: object.isEmpty ? nil : .object(object), items: items, uniqueId: uniqueId)
            },
            merge: { shared, items in
                var object = shared?.objectValue ?? JSONObject()
                for field in arrays {
                    let values = items.filter { $0.field == field }.map(\.value)
                    if !values.isEmpty { object[field] = .array(values) }
                }
                return .object(object)
            },
            itemErrors: itemErrors, sendAloneOn: sendAloneOn)
    }

    /// An endpoint whose single requests' bodies are each one item, batched as `{field: [bodies]}`
    /// at the same URL with `path` replaced by `batchPath` (HubSpot's `/events/v3/send/batch`).
    public static func wrappedBodies(
        name: String, path: String, batchPath: String, field: String, maxItems: Int, maxBytes: Int, itemErrors: ItemErrors? = nil,
        sendAloneOn: Set<Int> = []
    ) -> BatchEndpoint {
        BatchEndpoint(
            name: name, maxItems: maxItems, maxBytes: maxBytes,
            split: { request in
                guard request.method == .post, let batchURL = BatchURL.replacingPath(request.url, path, with: batchPath),
                    case .json(let body) = request.body, case .object = body
                else {
                    return nil
                }
                return Parts(batchURL: batchURL, shared: nil, items: [BatchItem(field: field, value: body)])
            },
            merge: { _, items in .object(JSONObject([(key: field, value: .array(items.map(\.value)))])) },
            itemErrors: itemErrors, sendAloneOn: sendAloneOn)
    }

    /// An endpoint whose request bodies are JSON arrays of items (Mixpanel `/import`).
    public static func topLevelArray(
        name: String, path: String, maxItems: Int, maxBytes: Int, itemErrors: ItemErrors? = nil, sendAloneOn: Set<Int> = []
    ) -> BatchEndpoint {
        BatchEndpoint(
            name: name, maxItems: maxItems, maxBytes: maxBytes,
            split: { request in
                guard request.method == .post, BatchURL.path(of: request.url).hasSuffix(path), case .json(.array(let values)) = request.body else {
                    return nil
                }
                return Parts(batchURL: request.url, shared: nil, items: values.map { BatchItem(field: "", value: $0) })
            },
            merge: { _, items in .array(items.map(\.value)) },
            itemErrors: itemErrors, sendAloneOn: sendAloneOn)
    }
}

/// URL helpers for batch endpoints.
public enum BatchURL {
    /// The path of `url` without query or fragment.
    public static func path(of url: String) -> Substring {
        var text = Substring(url)
        if let scheme = text.range(of: "://") { text = text[scheme.upperBound...] }
        guard let slash = text.firstIndex(of: "/") else { return "" }
        var path = text[slash...]
        if let end = path.firstIndex(where: { $0 == "?" || $0 == "#" }) { path = path[..<end] }
        return path
    }

    /// `url` with its path's suffix `suffix` replaced by `replacement` (query dropped), or `nil`
    /// when the path does not end with `suffix` or the URL has a query.
    public static func replacingPath(_ url: String, _ suffix: String, with replacement: String) -> String? {
        guard !url.contains("?"), url.hasSuffix(suffix) else { return nil }
        return String(url.dropLast(suffix.count)) + replacement
    }
}

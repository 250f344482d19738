import EventModel

/// One HTTP request a destination transformation asks the router to make.
///
/// On the wire (inside a `DeliveryJob`) it is
/// `{"method","url","headers":{name:value},"body":…,"bodyFormat":"json"|"form"|"none"}`:
/// `json` bodies are any JSON value sent as `application/json`; `form` bodies are an object of
/// string values sent URL-encoded; `none` has a `null` body.
public struct DestinationRequest: Sendable, Equatable {
    public enum Method: String, Sendable, CaseIterable {
        case get = "GET", post = "POST", put = "PUT", patch = "PATCH", delete = "DELETE"

        /// Whether requests with this method carry the event in a body (else in the query).
        public var carriesBody: Bool { self == .post || self == .put || self == .patch }
    }

    public enum Body: Sendable, Equatable {
        case none
        case json(JSON)
        /// URL-encoded form fields, in order.
        case form([(String, String)])

        public var format: String {
            switch self {
            case .none: "none"
            case .json: "json"
            case .form: "form"
            }
        }

        public static func == (lhs: Body, rhs: Body) -> Bool {
            switch (lhs, rhs) {
            case (.none, .none): true
            case (.json(let a), .json(let b)): a == b
            case (.form(let a), .form(let b)): a.elementsEqual(b, by: { $0 == $1 })
            default: false
            }
        }
    }

    public var method: Method
    public var url: String
    /// Header names and values in order; names as the mapping wrote them.
    public var headers: [(name: String, value: String)]
    public var body: Body

    public init(method: Method, url: String, headers: [(name: String, value: String)] = [], body: Body = .none) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
    }

    /// The value of the first header named `name` (case-insensitive).
    public func header(_ name: String) -> String? {
        let lowered = name.lowercased()
        return headers.first { $0.name.lowercased() == lowered }?.value
    }

    public static func == (lhs: DestinationRequest, rhs: DestinationRequest) -> Bool {
        lhs.method == rhs.method && lhs.url == rhs.url && lhs.body == rhs.body
            && lhs.headers.elementsEqual(rhs.headers, by: { $0.name == $1.name && $0.value == $1.value })
    }
}

extension DestinationRequest {
    /// The request as the JSON object carried in a `DeliveryJob`.
    public var json: JSON {
        var headerObject = JSONObject()
        for header in headers { headerObject[header.name] = .string(header.value) }
        let bodyValue: JSON
        switch body {
        case .none: bodyValue = .null
        case .json(let value): bodyValue = value
        case .form(let fields):
            var object = JSONObject()
            for (key, value) in fields { object[key] = .string(value) }
            bodyValue = .object(object)
        }
        var object = JSONObject()
        object["method"] = .string(method.rawValue)
        object["url"] = .string(url)
        object["headers"] = .object(headerObject)
        object["body"] = bodyValue
        object["bodyFormat"] = .string(body.format)
        return .object(object)
    }

    /// Reads a request written by ``json``; `nil` when a required field is missing or malformed.
    public init?(json: JSON) {
        guard let methodName = json["method"]?.stringValue, let method = Method(rawValue: methodName.uppercased()),
            let url = json["url"]?.stringValue
        else { return nil }
        var headers: [(name: String, value: String)] = []
        if let object = json["headers"]?.objectValue {
            for (name, value) in object {
                guard let value = value.stringValue else { return nil }
                headers.append((name, value))
            }
        }
        let body: Body
        switch json["bodyFormat"]?.stringValue ?? "json" {
        case "none": body = .none
        case "form":
            guard let object = json["body"]?.objectValue else { return nil }
            var fields: [(String, String)] = []
            for (key, value) in object { fields.append((key, value.stringValue ?? value.jsonString)) }
            body = .form(fields)
        case "json": body = json["body"].map { $0.isNull ? .none : .json($0) } ?? .none
        default: return nil
        }
        self.init(method: method, url: url, headers: headers, body: body)
    }
}

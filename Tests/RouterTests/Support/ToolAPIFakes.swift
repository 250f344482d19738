import EventModel
import Foundation
import HTTPTestServer
import Hummingbird
import Logging
import NIOCore
import Synchronization

/// A request a fake tool API received.
struct FakeAPIRequest: Sendable, CustomStringConvertible {
    var method: String
    var path: String
    /// Query parameters, percent-decoded.
    var query: [String: String]
    var headers: [String: String]
    var rawBody: String
    var status: Int
    var at: ContinuousClock.Instant

    var json: JSON { (try? JSON(parsing: Array(rawBody.utf8))) ?? .null }
    /// The body as `application/x-www-form-urlencoded` fields.
    var form: [String: String] { decodeFormFields(rawBody) }
    func header(_ name: String) -> String? { headers[name.lowercased()] }
    var description: String { "\(status) \(method) \(path)" }
}

/// A loopback HTTP server whose every request goes to `handle` (any method, any path), recording
/// the requests with the status answered.
final class FakeHTTPServer: Sendable {
    /// Answers a request: status, headers (only `Retry-After` is sent) and an optional JSON body.
    typealias Handler = @Sendable (FakeAPIRequest) async -> (status: Int, headers: [String: String], body: JSON?)

    private let server: RecordingHTTPServer<FakeAPIRequest>

    var port: Int { server.port }
    var baseURL: String { server.baseURL }

    private init(server: RecordingHTTPServer<FakeAPIRequest>) {
        self.server = server
    }

    static func start(_ handle: @escaping Handler) async throws -> FakeHTTPServer {
        let server = try await RecordingHTTPServer<FakeAPIRequest>.start(label: "fake-tool-api", maxBodyBytes: 1 << 20) {
            request, bytes in
            var query: [String: String] = [:]
            for (key, value) in request.uri.queryParameters { query[String(key)] = String(value) }
            var headers: [String: String] = [:]
            for field in request.headers { headers[field.name.canonicalName] = field.value }
            var received = FakeAPIRequest(
                method: request.method.rawValue, path: request.uri.path, query: query, headers: headers,
                rawBody: String(decoding: bytes, as: UTF8.self), status: 0, at: .now)
            let (status, answerHeaders, body) = await handle(received)
            received.status = status
            var fields = HTTPFields()
            if let retryAfter = answerHeaders["Retry-After"] { fields[.retryAfter] = retryAfter }
            if body != nil { fields[.contentType] = "application/json" }
            let response = Response(
                status: .init(code: status), headers: fields,
                body: body.map { ResponseBody(byteBuffer: ByteBuffer(string: $0.jsonString)) } ?? ResponseBody())
            return (received, response)
        }
        return FakeHTTPServer(server: server)
    }

    func received() -> [FakeAPIRequest] { server.records() }

    func stop() async { await server.stop() }
}

/// Behaves like Salesforce's documented REST API for what Keel's Salesforce plan uses:
///
/// - `POST /services/oauth2/token` (form): `grant_type=password` (username, password +
///   security token, client_id, client_secret) or `grant_type=refresh_token`; answers
///   `{access_token, instance_url, token_type: "Bearer", issued_at, signature}`, or 400
///   `{"error":"invalid_grant","error_description":"authentication failure"}`.
/// - With `Authorization: Bearer <token>` (else 401 `[{"message":"Session expired or invalid",
///   "errorCode":"INVALID_SESSION_ID"}]`): `GET /services/data/vXX.X/query?q=SELECT Id FROM <Object>
///   WHERE Email = '<email>' …` → `{totalSize, done, records: [{attributes, Id}]}`;
///   `POST …/sobjects/<Object>` → 201 `{id, success, errors}` (Lead needs LastName and Company:
///   400 `REQUIRED_FIELD_MISSING`); `PATCH …/sobjects/<Object>/<Id>` → 204, 404 `NOT_FOUND`.
///   A field that is not a standard one nor a created custom field → 400 `INVALID_FIELD`.
/// - Test controls: expire every issued token, answer a status for the next n writes, create a
///   custom field.
final class FakeSalesforce: Sendable {
    struct Record: Sendable {
        var object: String
        var fields: JSONObject
    }

    struct State {
        var tokens: Set<String> = []
        var tokensIssued = 0
        var records: [String: Record] = [:]
        var nextId = 1
        var customFields: Set<String> = []
        /// Status (and Retry-After) for the next `count` POST/PATCH writes.
        var writeFailure: (status: Int, retryAfter: String?, count: Int)?
    }

    static let standardFields: Set<String> = [
        "FirstName", "LastName", "Company", "Email", "Phone", "Title", "Website", "Street", "City", "State", "PostalCode", "Country",
        "Description", "Industry", "LeadSource", "Rating",
    ]

    let clientId: String
    let clientSecret: String
    let username: String
    let password: String
    let state = Mutex(State())
    private let serverBox = Mutex<FakeHTTPServer?>(nil)
    var server: FakeHTTPServer { serverBox.withLock { $0! } }

    private init(clientId: String, clientSecret: String, username: String, password: String) {
        self.clientId = clientId
        self.clientSecret = clientSecret
        self.username = username
        self.password = password
    }

    static func start(clientId: String, clientSecret: String, username: String, password: String) async throws -> FakeSalesforce {
        let fake = FakeSalesforce(clientId: clientId, clientSecret: clientSecret, username: username, password: password)
        let server = try await FakeHTTPServer.start { [fake] request in fake.handle(request) }
        fake.serverBox.withLock { $0 = server }
        return fake
    }

    var baseURL: String { server.baseURL }
    func received() -> [FakeAPIRequest] { server.received() }
    func stop() async { await server.stop() }

    func expireTokens() { state.withLock { $0.tokens.removeAll() } }
    func failWrites(status: Int, retryAfter: String? = nil, count: Int) { state.withLock { $0.writeFailure = (status, retryAfter, count) } }
    func createCustomField(_ name: String) { state.withLock { _ = $0.customFields.insert(name) } }
    var tokensIssued: Int { state.withLock { $0.tokensIssued } }
    var records: [String: Record] { state.withLock { $0.records } }

    @discardableResult
    func seed(_ object: String, _ fields: JSONObject) -> String {
        state.withLock { state in
            let id = "00Q" + String(format: "%012d", state.nextId)
            state.nextId += 1
            state.records[id] = Record(object: object, fields: fields)
            return id
        }
    }

    private func handle(_ request: FakeAPIRequest) -> (status: Int, headers: [String: String], body: JSON?) {
        if request.path == "/services/oauth2/token" && request.method == "POST" { return token(request.form) }
        return state.withLock { state in
            guard let auth = request.header("authorization"), auth.hasPrefix("Bearer "), state.tokens.contains(String(auth.dropFirst(7)))
            else {
                return (401, [:], [["message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"]])
            }
            let parts = request.path.split(separator: "/").map(String.init)
            guard parts.count >= 4, parts[0] == "services", parts[1] == "data", parts[2].hasPrefix("v") else {
                return (404, [:], [["errorCode": "NOT_FOUND", "message": "The requested resource does not exist"]])
            }
            if request.method == "GET" && parts.count == 4 && parts[3] == "query" { return Self.query(request.query["q"] ?? "", state) }
            guard parts.count >= 5, parts[3] == "sobjects" else {
                return (404, [:], [["errorCode": "NOT_FOUND", "message": "The requested resource does not exist"]])
            }
            if let failure = state.writeFailure, failure.count > 0, request.method == "POST" || request.method == "PATCH" {
                state.writeFailure!.count -= 1
                return (
                    failure.status, failure.retryAfter.map { ["Retry-After": $0] } ?? [:],
                    [["errorCode": "SERVER_UNAVAILABLE", "message": .string("told to answer \(failure.status)")]]
                )
            }
            let object = parts[4]
            guard let fields = request.json.objectValue else {
                return (400, [:], [["errorCode": "JSON_PARSER_ERROR", "message": "body is not a JSON object"]])
            }
            for (name, _) in fields where !Self.standardFields.contains(name) && !state.customFields.contains(name) {
                return (400, [:], [["errorCode": "INVALID_FIELD", "message": .string("No such column '\(name)' on sobject of type \(object)")]])
            }
            switch (request.method, parts.count) {
            case ("POST", 5):
                if object == "Lead", fields["LastName"] == nil || fields["Company"] == nil {
                    return (400, [:], [["errorCode": "REQUIRED_FIELD_MISSING", "message": "Required fields are missing: [LastName, Company]"]])
                }
                let id = "00Q" + String(format: "%012d", state.nextId)
                state.nextId += 1
                state.records[id] = Record(object: object, fields: fields)
                return (201, [:], ["id": .string(id), "success": true, "errors": []])
            case ("PATCH", 6):
                guard var record = state.records[parts[5]], record.object == object else {
                    return (404, [:], [["errorCode": "NOT_FOUND", "message": "The requested resource does not exist"]])
                }
                for (name, value) in fields { record.fields[name] = value }
                state.records[parts[5]] = record
                return (204, [:], nil)
            default:
                return (405, [:], [["errorCode": "METHOD_NOT_ALLOWED", "message": "HTTP Method not allowed"]])
            }
        }
    }

    private func token(_ form: [String: String]) -> (status: Int, headers: [String: String], body: JSON?) {
        let valid: Bool
        switch form["grant_type"] {
        case "password": valid = form["username"] == username && form["password"] == password
        case "refresh_token": valid = form["refresh_token"] != nil
        default: valid = false
        }
        guard valid, form["client_id"] == clientId, form["client_secret"] == clientSecret else {
            return (400, [:], ["error": "invalid_grant", "error_description": "authentication failure"])
        }
        let token = state.withLock { state in
            state.tokensIssued += 1
            let token = "00DTEST!AQ.access-token-\(state.tokensIssued)"
            state.tokens.insert(token)
            return token
        }
        return (
            200, [:],
            [
                "access_token": .string(token), "instance_url": .string(baseURL), "id": "https://login.salesforce.com/id/00D/005",
                "token_type": "Bearer", "issued_at": "1795953600000", "signature": "c2lnbmF0dXJl",
            ]
        )
    }

    /// `SELECT Id FROM <Object> WHERE Email = '<email>' [AND IsConverted = false] LIMIT 1`.
    private static func query(_ soql: String, _ state: State) -> (status: Int, headers: [String: String], body: JSON?) {
        let pattern = /SELECT Id FROM (\w+) WHERE Email = '((?:[^'\\]|\\.)*)'( AND IsConverted = false)? LIMIT 1/
        guard let match = soql.wholeMatch(of: pattern) else {
            return (400, [:], [["errorCode": "MALFORMED_QUERY", "message": "unexpected query"]])
        }
        let object = String(match.1)
        let email = String(match.2).replacingOccurrences(of: "\\'", with: "'").replacingOccurrences(of: "\\\\", with: "\\")
        let found = state.records.filter { $0.value.object == object && $0.value.fields["Email"]?.stringValue == email }.keys.sorted()
        let records: [JSON] = found.prefix(1).map { id in
            ["attributes": ["type": .string(object), "url": .string("/services/data/v62.0/sobjects/\(object)/\(id)")], "Id": .string(id)]
        }
        return (200, [:], ["totalSize": .int(Int64(records.count)), "done": true, "records": .array(records)])
    }
}

/// Behaves like Intercom's REST API 2.11 for what Keel's plans use. Every request needs
/// `Authorization: Bearer <token>` (else 401 `{"type":"error.list","errors":[{"code":"unauthorized"}]}`).
///
/// - `POST /contacts/search` `{query: {field, operator: "=", value}}` → `{type: "list", data, total_count}`
/// - `POST /contacts` → the contact (`id`, `external_id`, `email`, …); 409 when the external_id exists
/// - `PUT /contacts/{id}` → the updated contact; 404 when unknown
/// - `POST /companies` (`company_id` required) → the created or updated company with its `id`
/// - `POST /contacts/{id}/companies` `{id}` → the company; 404 when either is unknown
final class FakeIntercom: Sendable {
    struct State {
        var contacts: [String: JSONObject] = [:]
        var companies: [String: JSONObject] = [:]
        /// contact id → Intercom company ids
        var attachments: [String: [String]] = [:]
        var nextId = 1
    }

    let token: String
    let state = Mutex(State())
    private let serverBox = Mutex<FakeHTTPServer?>(nil)
    var server: FakeHTTPServer { serverBox.withLock { $0! } }

    private init(token: String) { self.token = token }

    static func start(token: String) async throws -> FakeIntercom {
        let fake = FakeIntercom(token: token)
        let server = try await FakeHTTPServer.start { [fake] request in fake.handle(request) }
        fake.serverBox.withLock { $0 = server }
        return fake
    }

    var baseURL: String { server.baseURL }
    func received() -> [FakeAPIRequest] { server.received() }
    func stop() async { await server.stop() }
    var snapshot: State { state.withLock { $0 } }

    @discardableResult
    func seedContact(_ fields: JSONObject) -> String {
        state.withLock { state in
            let id = String(format: "6571%08x", state.nextId)
            state.nextId += 1
            var contact = fields
            contact["type"] = "contact"
            contact["id"] = .string(id)
            state.contacts[id] = contact
            return id
        }
    }

    private func handle(_ request: FakeAPIRequest) -> (status: Int, headers: [String: String], body: JSON?) {
        guard request.header("authorization") == "Bearer " + token else {
            return (401, [:], ["type": "error.list", "errors": [["code": "unauthorized", "message": "Access Token Invalid"]]])
        }
        let body = request.json
        let parts = request.path.split(separator: "/").map(String.init)
        return state.withLock { state in
            switch (request.method, parts.count, parts.first ?? "") {
            case ("POST", 2, "contacts") where parts[1] == "search":
                guard let field = body[path: "query", "field"]?.stringValue, body[path: "query", "operator"]?.stringValue == "=",
                    let value = body[path: "query", "value"]
                else { return (400, [:], ["type": "error.list", "errors": [["code": "parameter_invalid", "message": "bad query"]]]) }
                let data = state.contacts.values.filter { $0[field] == value }.sorted { ($0["id"]?.stringValue ?? "") < ($1["id"]?.stringValue ?? "") }
                return (200, [:], ["type": "list", "data": .array(data.map { .object($0) }), "total_count": .int(Int64(data.count))])
            case ("POST", 1, "contacts"):
                guard var contact = body.objectValue, contact["external_id"] != nil || contact["email"] != nil else {
                    return (400, [:], ["type": "error.list", "errors": [["code": "parameter_not_found", "message": "email or external_id required"]]])
                }
                if let externalId = contact["external_id"], state.contacts.values.contains(where: { $0["external_id"] == externalId }) {
                    return (409, [:], ["type": "error.list", "errors": [["code": "conflict", "message": "A contact matching those details already exists"]]])
                }
                let id = String(format: "6571%08x", state.nextId)
                state.nextId += 1
                contact["type"] = "contact"
                contact["id"] = .string(id)
                state.contacts[id] = contact
                return (200, [:], .object(contact))
            case ("PUT", 2, "contacts"):
                guard var contact = state.contacts[parts[1]], let fields = body.objectValue else {
                    return (404, [:], ["type": "error.list", "errors": [["code": "not_found", "message": "User Not Found"]]])
                }
                for (name, value) in fields { contact[name] = value }
                state.contacts[parts[1]] = contact
                return (200, [:], .object(contact))
            case ("POST", 1, "companies"):
                guard var fields = body.objectValue, let companyId = fields["company_id"] else {
                    return (400, [:], ["type": "error.list", "errors": [["code": "parameter_not_found", "message": "company_id not specified"]]])
                }
                let existing = state.companies.first { $0.value["company_id"] == companyId }
                let id = existing?.key ?? String(format: "6580%08x", state.nextId)
                if existing == nil { state.nextId += 1 }
                var company = existing?.value ?? ["type": "company", "id": .string(id)]
                fields["id"] = nil
                for (name, value) in fields { company[name] = value }
                state.companies[id] = company
                return (200, [:], .object(company))
            case ("POST", 3, "contacts") where parts[2] == "companies":
                guard state.contacts[parts[1]] != nil, let companyId = body["id"]?.stringValue, let company = state.companies[companyId] else {
                    return (404, [:], ["type": "error.list", "errors": [["code": "not_found", "message": "Contact or company not found"]]])
                }
                if !(state.attachments[parts[1]] ?? []).contains(companyId) { state.attachments[parts[1], default: []].append(companyId) }
                return (200, [:], .object(company))
            default:
                return (404, [:], ["type": "error.list", "errors": [["code": "not_found", "message": "Resource Not Found"]]])
            }
        }
    }
}

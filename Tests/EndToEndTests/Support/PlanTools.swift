import EventModel
import Foundation
import Synchronization

/// The tools whose deliveries take several requests (multi-step plans), with the state their
/// answers depend on: Salesforce (OAuth token, SOQL lookup, sObject create/update) and Intercom
/// (contact search, create/update, companies and attachments). Written from Salesforce's REST API
/// and OAuth 2.0 username-password flow docs and Intercom's REST API (2.11) docs.
final class PlanTools: Sendable {
    struct SalesforceState {
        /// Access tokens the org accepts; ``revokeSalesforceSessions()`` empties it (sessions
        /// expire or get revoked in real orgs).
        var validTokens: Set<String> = []
        var tokensIssued = 0
        /// Records by object type, then id.
        var records: [String: [String: JSONObject]] = [
            "Lead": [SalesforceOrg.existingLeadId: ["Email": "grace@example.com", "LastName": "Hopper", "Company": "Navy", "IsConverted": false]],
            "Contact": [SalesforceOrg.existingContactId: ["LastName": "Turing", "Email": "alan@example.com"]],
        ]
        var nextId = 1
    }

    struct IntercomState {
        var contacts: [String: JSONObject] = [
            IntercomWorkspace.existingContactId: [
                "type": "contact", "id": .string(IntercomWorkspace.existingContactId), "role": "user",
                "external_id": .string(IntercomWorkspace.existingExternalId), "email": "old@example.com", "name": "Old Name",
            ]
        ]
        var companies: [String: JSONObject] = [:]
        /// (contact id, company id) pairs.
        var attachments: [(String, String)] = []
        var nextId = 1
    }

    let salesforce = Mutex(SalesforceState())
    let intercom = Mutex(IntercomState())

    func revokeSalesforceSessions() { salesforce.withLock { $0.validTokens.removeAll() } }

    // MARK: Salesforce

    /// - `POST /services/oauth2/token` (form `grant_type=password`, `client_id`, `client_secret`,
    ///   `username`, `password` = password + security token): 200 `{access_token, instance_url,
    ///   id, token_type, issued_at, signature}`; 400 `invalid_grant` on bad credentials.
    /// - `GET /services/data/vXX.X/query?q=SOQL` (Bearer): 200 `{totalSize, done, records}`; 401
    ///   `INVALID_SESSION_ID` with an unknown or revoked token.
    /// - `POST /services/data/vXX.X/sobjects/<Object>`: 201 `{id, success, errors}`; 400
    ///   `REQUIRED_FIELD_MISSING` (Lead needs LastName and Company) or `INVALID_FIELD` (a field the
    ///   object lacks; field names are case-insensitive).
    /// - `PATCH /services/data/vXX.X/sobjects/<Object>/<Id>`: 204; 404 `NOT_FOUND`.
    func salesforce(_ request: ReceivedRequest) -> ToolAnswer {
        if request.path == "/services/oauth2/token" {
            guard request.method == "POST", request.headers["content-type"]?.hasPrefix("application/x-www-form-urlencoded") == true,
                request.form["grant_type"] == "password", request.form["client_id"] == SalesforceOrg.clientId,
                request.form["client_secret"] == SalesforceOrg.clientSecret, request.form["username"] == SalesforceOrg.username,
                request.form["password"] == SalesforceOrg.password + SalesforceOrg.securityToken
            else { return .json(400, ["error": "invalid_grant", "error_description": "authentication failure"]) }
            let token = salesforce.withLock { state -> String in
                state.tokensIssued += 1
                let token = "00D5e0000000001!session-\(state.tokensIssued)"
                state.validTokens.insert(token)
                return token
            }
            let instance = "http://\(request.headers["host"] ?? "127.0.0.1")/\(request.destination)"
            return .json(
                200,
                [
                    "access_token": .string(token), "instance_url": .string(instance),
                    "id": .string(instance + "/id/00D5e0000000001EAA/0055e000000AbCdAAK"), "token_type": "Bearer",
                    "issued_at": "1795953600000", "signature": "c2lnbmF0dXJl",
                ])
        }
        let sessionError: JSON = [["message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"]]
        guard let bearer = request.authorization, bearer.hasPrefix("Bearer "),
            salesforce.withLock({ $0.validTokens.contains(String(bearer.dropFirst(7))) })
        else { return .json(401, sessionError) }
        let parts = request.path.split(separator: "/").map(String.init)
        // services / data / vXX.X / query | sobjects / Object [/ Id]
        guard parts.count >= 4, parts[0] == "services", parts[1] == "data", parts[2].hasPrefix("v") else {
            return .json(404, [["errorCode": "NOT_FOUND", "message": "The requested resource does not exist"]])
        }
        switch (request.method, parts[3], parts.count) {
        case ("GET", "query", 4):
            return salesforceQuery(request.query["q"] ?? "")
        case ("POST", "sobjects", 5):
            return salesforceCreate(object: parts[4], fields: request.json?.objectValue)
        case ("PATCH", "sobjects", 6):
            return salesforceUpdate(object: parts[4], id: parts[5], fields: request.json?.objectValue)
        default:
            return .json(404, [["errorCode": "NOT_FOUND", "message": "The requested resource does not exist"]])
        }
    }

    /// Understands the lookups a CDP sends: `SELECT Id FROM <Object> WHERE Email = '<email>' [AND
    /// IsConverted = false] LIMIT 1`.
    private func salesforceQuery(_ soql: String) -> ToolAnswer {
        let pattern = /^SELECT Id FROM (\w+) WHERE Email = '((?:[^'\\]|\\.)*)'( AND IsConverted = false)? LIMIT 1$/.ignoresCase()
        guard let match = try? pattern.wholeMatch(in: soql) else {
            return .json(400, [["errorCode": "MALFORMED_QUERY", "message": "unexpected query"]])
        }
        let object = String(match.output.1)
        let email = String(match.output.2).replacingOccurrences(of: "\\'", with: "'").replacingOccurrences(of: "\\\\", with: "\\")
        let onlyUnconverted = match.output.3 != nil
        let ids = salesforce.withLock { state in
            (state.records[object] ?? [:]).filter { _, fields in
                fields["Email"]?.stringValue?.lowercased() == email.lowercased() && (!onlyUnconverted || fields["IsConverted"] != true)
            }.keys.sorted()
        }
        let records: [JSON] = ids.prefix(1).map { id in
            ["attributes": ["type": .string(object), "url": .string("/services/data/v62.0/sobjects/\(object)/\(id)")], "Id": .string(id)]
        }
        return .json(200, ["totalSize": .int(Int64(records.count)), "done": true, "records": .array(records)])
    }

    private func salesforceCreate(object: String, fields: JSONObject?) -> ToolAnswer {
        guard let fields else { return .json(400, [["errorCode": "JSON_PARSER_ERROR", "message": "body must be an object"]]) }
        if let invalid = Self.invalidField(object: object, fields: fields) { return invalid }
        if object == "Lead" {
            let missing = ["LastName", "Company"].filter { name in fields.first { $0.key.lowercased() == name.lowercased() } == nil }
            if !missing.isEmpty {
                return .json(
                    400,
                    [["message": .string("Required fields are missing: [\(missing.joined(separator: ", "))]"), "errorCode": "REQUIRED_FIELD_MISSING",
                      "fields": .array(missing.map { .string($0) })]])
            }
        }
        let id = salesforce.withLock { state -> String in
            let id = (object == "Lead" ? "00Q" : "001") + String(format: "5e00000%08dAAA", state.nextId)
            state.nextId += 1
            state.records[object, default: [:]][id] = fields
            return id
        }
        return .json(201, ["id": .string(id), "success": true, "errors": []])
    }

    private func salesforceUpdate(object: String, id: String, fields: JSONObject?) -> ToolAnswer {
        guard let fields else { return .json(400, [["errorCode": "JSON_PARSER_ERROR", "message": "body must be an object"]]) }
        if let invalid = Self.invalidField(object: object, fields: fields) { return invalid }
        let found = salesforce.withLock { state -> Bool in
            guard var record = state.records[object]?[id] else { return false }
            for (key, value) in fields { record[key] = value }
            state.records[object]?[id] = record
            return true
        }
        return found ? .empty(204) : .json(404, [["errorCode": "NOT_FOUND", "message": "The requested resource does not exist"]])
    }

    private static func invalidField(object: String, fields: JSONObject) -> ToolAnswer? {
        let known = Set(SalesforceOrg.fields[object, default: []].map { $0.lowercased() })
        guard let unknown = fields.keys.first(where: { !known.contains($0.lowercased()) }) else { return nil }
        return .json(400, [["errorCode": "INVALID_FIELD", "message": .string("No such column '\(unknown)' on sobject of type \(object)")]])
    }

    // MARK: Intercom

    /// - `POST /contacts/search` `{query: {field, operator: "=", value}}` (or `{operator: AND|OR,
    ///   value: [queries]}`): 200 `{type: list, data, total_count, pages}`.
    /// - `POST /contacts` (`role`, `external_id` and/or `email`): 200 the contact; 409 `conflict`
    ///   when the external_id exists.
    /// - `PUT /contacts/{id}`: 200 the contact; 404 `not_found`.
    /// - `POST /companies` (`company_id` required; creates or updates): 200 the company.
    /// - `POST /contacts/{id}/companies` `{id: <company's Intercom id>}`: 200 the company; 404.
    /// Every request needs `Authorization: Bearer` (else 401) and is answered as JSON.
    func intercom(_ request: ReceivedRequest) -> ToolAnswer {
        guard request.authorization == "Bearer " + Credentials.intercomToken else {
            return .json(401, ["type": "error.list", "errors": [["code": "unauthorized", "message": "Access Token Invalid"]]])
        }
        let notFound: JSON = ["type": "error.list", "errors": [["code": "not_found", "message": "Resource Not Found"]]]
        let parts = request.path.split(separator: "/").map { String($0).removingPercentEncoding ?? String($0) }
        let body = request.json?.objectValue ?? [:]
        switch (request.method, parts) {
        case ("POST", ["events"]):
            return ToolAPIs.intercom(request)
        case ("POST", ["contacts", "search"]):
            let matches = intercom.withLock { state in
                state.contacts.values.filter { Self.intercomMatches($0, request.json?["query"]) }.sorted { ($0["id"]?.stringValue ?? "") < ($1["id"]?.stringValue ?? "") }
            }
            return .json(
                200,
                [
                    "type": "list", "data": .array(matches.map { .object($0) }), "total_count": .int(Int64(matches.count)),
                    "pages": ["type": "pages", "page": 1, "per_page": 50, "total_pages": 1],
                ])
        case ("POST", ["contacts"]):
            guard body["role"]?.stringValue != nil, body["external_id"] != nil || body["email"] != nil else {
                return .json(400, ["type": "error.list", "errors": [["code": "parameter_invalid", "message": "role and an identifier are required"]]])
            }
            return intercom.withLock { state -> ToolAnswer in
                if let externalId = body["external_id"], let existing = state.contacts.values.first(where: { $0["external_id"] == externalId }) {
                    let id = existing["id"]?.stringValue ?? ""
                    return .json(409, ["type": "error.list", "errors": [["code": "conflict", "message": .string("A contact matching those details already exists with id=\(id)")]]])
                }
                let id = String(format: "6610%020d", state.nextId)
                state.nextId += 1
                var contact = body
                contact["type"] = "contact"
                contact["id"] = .string(id)
                state.contacts[id] = contact
                return .json(200, .object(contact))
            }
        case ("PUT", let path) where path.count == 2 && path[0] == "contacts":
            return intercom.withLock { state -> ToolAnswer in
                guard var contact = state.contacts[path[1]] else { return .json(404, notFound) }
                for (key, value) in body { contact[key] = value }
                state.contacts[path[1]] = contact
                return .json(200, .object(contact))
            }
        case ("POST", ["companies"]):
            guard let companyId = body["company_id"]?.stringValue else {
                return .json(400, ["type": "error.list", "errors": [["code": "parameter_not_found", "message": "company_id not specified"]]])
            }
            return intercom.withLock { state -> ToolAnswer in
                var company = state.companies.values.first { $0["company_id"]?.stringValue == companyId } ?? [:]
                if company["id"] == nil {
                    company["id"] = .string(String(format: "5f00%020d", state.nextId))
                    state.nextId += 1
                }
                for (key, value) in body { company[key] = value }
                company["type"] = "company"
                state.companies[company["id"]?.stringValue ?? ""] = company
                return .json(200, .object(company))
            }
        case ("POST", let path) where path.count == 3 && path[0] == "contacts" && path[2] == "companies":
            return intercom.withLock { state -> ToolAnswer in
                guard state.contacts[path[1]] != nil, let companyId = body["id"]?.stringValue, let company = state.companies[companyId] else {
                    return .json(404, notFound)
                }
                state.attachments.append((path[1], companyId))
                return .json(200, .object(company))
            }
        default:
            return .json(404, notFound)
        }
    }

    /// Intercom's search query: `{field, operator: "=", value}` or `{operator: "AND"|"OR", value: [queries]}`.
    private static func intercomMatches(_ contact: JSONObject, _ query: JSON?) -> Bool {
        guard let query, let op = query["operator"]?.stringValue else { return false }
        if op == "AND" || op == "OR", let parts = query["value"]?.arrayValue {
            return op == "AND" ? parts.allSatisfy { intercomMatches(contact, $0) } : parts.contains { intercomMatches(contact, $0) }
        }
        guard op == "=", let field = query["field"]?.stringValue else { return false }
        return contact[field] != nil && contact[field] == query["value"]
    }
}

/// The Salesforce org the test talks to.
enum SalesforceOrg {
    static let clientId = "3MVG9e2eClientKey"
    static let clientSecret = "sf-e2e-consumer-secret"
    static let username = "integration@acme.example"
    static let password = "pw-e2e"
    static let securityToken = "TOKEN9"
    static let existingLeadId = "00Q5e000001AbCdEAF"
    static let existingContactId = "0035e000002XyZwAAB"
    /// Fields of the org's objects (standard ones plus the custom `Plan_Tier__c` on Lead).
    static let fields: [String: [String]] = [
        "Lead": [
            "FirstName", "LastName", "Company", "Email", "Phone", "Title", "Website", "Street", "City", "State", "PostalCode", "Country",
            "Description", "Industry", "LeadSource", "Plan_Tier__c",
        ],
        "Contact": ["FirstName", "LastName", "Email", "Phone", "Title", "MailingStreet", "MailingCity", "MailingCountry", "Description"],
    ]
}

/// The Intercom workspace the test talks to.
enum IntercomWorkspace {
    static let existingContactId = "65f0000000000000000000aa"
    static let existingExternalId = "ic-user-existing"
}

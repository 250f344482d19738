import EventModel

/// Salesforce identify → a ``DeliveryPlan``: token, lookup, then create or update.
///
/// 1. `token`: `POST <login>/services/oauth2/token` (form; `grant_type=password` with
///    username and password+security token, or `grant_type=refresh_token`), cached per
///    destination for 30 minutes and redone on a 401 (`refreshOn401`).
/// 2. `lookup` (without an external id): `GET {{token.instance_url}}/services/data/vXX.X/query?q=`
///    `SELECT Id FROM Lead WHERE Email = '<email>' AND IsConverted = false LIMIT 1` (for another
///    object, without the IsConverted clause), `Authorization: Bearer {{token.access_token}}`.
/// 3. `create` when `lookup.totalSize` is 0: `POST …/sobjects/<Object>` with the fields, and
///    Lead's required `LastName` and `Company` defaulting to `n/a`; `update` otherwise:
///    `PATCH …/sobjects/<Object>/{{lookup.records.0.Id}}` without those defaults.
///
/// The object is `Lead`, or the one named by `context.externalId` `[{type: "Salesforce-<Object>",
/// id}]`, in which case the record is updated by that id directly (no lookup). Traits map to
/// standard fields (`firstName` → `FirstName`, …, address parts → `Street`, `City`, `State`,
/// `PostalCode`, `Country`); other scalar traits to custom fields `<Name>__c`.
///
/// Registered as destination type `salesforce` (``SalesforceMapping``); the router runs the plan
/// (docs/destinations.md, "Multi-step delivery").
public struct SalesforcePlanner: Sendable {
    public typealias Outcome = PlanOutcome

    static let standardFields: [String: String] = [
        "firstName": "FirstName", "first_name": "FirstName", "lastName": "LastName", "last_name": "LastName",
        "email": "Email", "phone": "Phone", "title": "Title", "website": "Website", "street": "Street", "city": "City",
        "state": "State", "postalCode": "PostalCode", "postal_code": "PostalCode", "zip": "PostalCode", "country": "Country",
        "description": "Description", "industry": "Industry", "leadSource": "LeadSource", "rating": "Rating",
    ]

    let config: SalesforceConfig

    public init(config: JSON) throws(DestinationConfigError) { self.config = try SalesforceConfig(config) }

    public func plan(_ event: JSON) -> Outcome {
        guard event.messageType == .identify else {
            return .abort(reason: "message type \(event["type"]?.stringValue ?? "") is not supported by Salesforce")
        }
        let traits = event.mergedTraits
        var object = "Lead"
        var recordId: String?
        for item in event[path: "context", "externalId"]?.arrayValue ?? [] {
            guard let type = item["type"]?.stringValue, type.hasPrefix("Salesforce-"), let id = item["id"]?.identifierText else {
                continue
            }
            let name = String(type.dropFirst("Salesforce-".count))
            guard !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) else {
                return .abort(reason: "context.externalId names an invalid Salesforce object")
            }
            object = name
            recordId = id
            break
        }
        let email = traits["email"]?.identifierText
        guard recordId != nil || email != nil else {
            return .abort(reason: "Salesforce identify needs an email trait or a Salesforce externalId")
        }
        let fields = Self.fields(traits)
        let base = "{{token.instance_url}}/services/data/v\(config.apiVersion)"
        let headers: [(name: String, value: String)] = [
            ("Content-Type", "application/json"), ("Authorization", "Bearer {{token.access_token}}"),
        ]
        var steps = [DeliveryPlan.Step(name: "token", request: tokenRequest(), cacheSeconds: 1800)]
        if let recordId {
            steps.append(
                DeliveryPlan.Step(
                    name: "update",
                    request: DestinationRequest(
                        method: .patch, url: base + "/sobjects/\(object)/" + URLEncoding.component(recordId), headers: headers,
                        body: .json(.object(fields)))))
            return .plan(DeliveryPlan(steps: steps, refreshOn401: "token"))
        }
        var soql = "SELECT Id FROM \(object) WHERE Email = '\(Self.soqlLiteral(email ?? ""))'"
        if object == "Lead" { soql += " AND IsConverted = false" }
        soql += " LIMIT 1"
        steps.append(
            DeliveryPlan.Step(
                name: "lookup",
                request: DestinationRequest(
                    method: .get, url: base + "/query?q=" + URLEncoding.component(soql),
                    headers: [("Authorization", "Bearer {{token.access_token}}")])))
        var createFields = fields
        if object == "Lead" {
            if createFields["LastName"] == nil { createFields["LastName"] = "n/a" }
            if createFields["Company"] == nil { createFields["Company"] = "n/a" }
        }
        steps.append(
            DeliveryPlan.Step(
                name: "create",
                request: DestinationRequest(method: .post, url: base + "/sobjects/\(object)", headers: headers, body: .json(.object(createFields))),
                when: DeliveryPlan.Condition(path: ["lookup", "totalSize"], equals: 0)))
        steps.append(
            DeliveryPlan.Step(
                name: "update",
                request: DestinationRequest(
                    method: .patch, url: base + "/sobjects/\(object)/{{lookup.records.0.Id|path}}", headers: headers,
                    body: .json(.object(fields))),
                when: DeliveryPlan.Condition(path: ["lookup", "totalSize"], equals: 0, negated: true)))
        return .plan(DeliveryPlan(steps: steps, refreshOn401: "token"))
    }

    private func tokenRequest() -> DestinationRequest {
        var form: [(String, String)]
        switch config.grant {
        case .password(let username, let password):
            form = [("grant_type", "password"), ("username", username), ("password", password)]
        case .refreshToken(let token):
            form = [("grant_type", "refresh_token"), ("refresh_token", token)]
        }
        form += [("client_id", config.clientId), ("client_secret", config.clientSecret)]
        return DestinationRequest(method: .post, url: config.loginURL + "/services/oauth2/token", body: .form(form))
    }

    /// Traits as Salesforce fields: standard names, address parts, company name, `name` split into
    /// first and last; other scalar traits as `<Name>__c`.
    static func fields(_ traits: JSONObject) -> JSONObject {
        var out = JSONObject()
        for (key, value) in traits {
            switch key {
            case "address":
                for (part, partValue) in value.objectValue ?? JSONObject() {
                    if let field = standardFields[part], isScalar(partValue) { out[field] = partValue }
                }
            case "company":
                let name: JSON? = value.stringValue != nil ? value : value.objectValue?["name"]
                if let name, name.stringValue != nil { out["Company"] = name }
            case "name", "userId", "id", "anonymousId":
                continue
            default:
                guard isScalar(value) else { continue }
                if let field = standardFields[key] {
                    out[field] = value
                } else if let custom = customFieldName(key) {
                    out[custom] = value
                }
            }
        }
        if let name = traits["name"]?.stringValue?.trimmingSpaces, !name.isEmpty, out["LastName"] == nil {
            if let space = name.lastIndex(of: " ") {
                if out["FirstName"] == nil { out["FirstName"] = .string(String(name[..<space])) }
                out["LastName"] = .string(String(name[name.index(after: space)...]))
            } else {
                out["LastName"] = .string(name)
            }
        }
        return out
    }

    static func isScalar(_ value: JSON) -> Bool {
        switch value {
        case .string, .int, .double, .bool: true
        default: false
        }
    }

    /// `plan_tier` → `plan_tier__c`: letters, digits and single underscores, starting with a
    /// letter, as Salesforce API names must; `nil` when nothing is left.
    static func customFieldName(_ key: String) -> String? {
        var name = ""
        for character in key {
            if character.isASCII, character.isLetter || character.isNumber {
                name.append(character)
            } else if !name.isEmpty, name.last != "_" {
                name.append("_")
            }
        }
        while name.last == "_" { name.removeLast() }
        guard let first = name.first, first.isLetter else { return nil }
        return name + "__c"
    }

    /// A SOQL string literal's content: backslash and quote escaped.
    static func soqlLiteral(_ text: String) -> String {
        text.replacingAll("\\", with: "\\\\").replacingAll("'", with: "\\'")
    }
}

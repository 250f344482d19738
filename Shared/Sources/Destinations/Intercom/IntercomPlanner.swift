import EventModel

/// Intercom identify and group → ``DeliveryPlan``s that the router runs.
///
/// Identify:
/// 1. `search`: `POST /contacts/search` `{query: {field: "external_id" | "email", operator: "=",
///    value}}` (external_id ← userId, else the email trait).
/// 2. `create` when `search.total_count` is 0: `POST /contacts` `{role: "user", external_id,
///    email, name, phone, signed_up_at (s), custom_attributes}`; `update` otherwise:
///    `PUT /contacts/{{search.data.0.id}}` with the same fields.
///
/// Group:
/// 1. `company`: `POST /companies` (creates, or updates the company with that `company_id`):
///    `company_id` = groupId, `name`, `plan`, `website`, `industry`, `size` (employees),
///    `monthly_spend`, `remote_created_at` (createdAt, s), other scalar traits as
///    `custom_attributes`.
/// 2. When the event has a user (userId, else the email trait): `search` as for identify, `create`
///    (a bare contact) when none is found, then `attachCreated` or `attach`:
///    `POST /contacts/{id}/companies` `{"id": "{{company.id}}"}` (both Intercom ids).
///
/// Custom attributes must exist in the Intercom workspace (Intercom answers 400 otherwise); only
/// scalar traits are sent.
public struct IntercomPlanner: Sendable {
    let config: IntercomConfig

    public init(config: JSON) throws(DestinationConfigError) { self.config = try IntercomConfig(config) }

    init(config: IntercomConfig) { self.config = config }

    static let standardAttributes: Set<String> = ["email", "name", "phone", "firstName", "lastName", "createdAt", "created_at"]

    /// Group traits sent as Intercom company fields; the others go to `custom_attributes`.
    static let companyFields: [String: String] = [
        "name": "name", "plan": "plan", "website": "website", "industry": "industry", "employees": "size", "size": "size",
        "monthlySpend": "monthly_spend", "monthly_spend": "monthly_spend",
    ]

    var headers: [(name: String, value: String)] {
        [
            ("Content-Type", "application/json"), ("Accept", "application/json"), ("Authorization", config.authorization),
            ("Intercom-Version", config.apiVersion),
        ]
    }

    /// Identify → search, then create or update the contact.
    public func plan(_ event: JSON) -> PlanOutcome {
        switch event.messageType {
        case .identify: break
        case .group: return groupPlan(event)
        default: return .abort(reason: "message type \(event["type"]?.stringValue ?? "") is not supported by Intercom plans")
        }
        let traits = event.mergedTraits
        guard let (search, base) = searchStep(event) else {
            return .abort(reason: "Intercom identify needs a userId or an email trait")
        }
        var contact = base
        let name = traits["name"]?.stringValue
            ?? [traits["firstName"], traits["lastName"]].compactMap { $0?.stringValue }.joined(separator: " ")
        if !name.isEmpty { contact["name"] = .string(name) }
        if let phone = traits["phone"]?.identifierText { contact["phone"] = .string(phone) }
        if let created = (traits["createdAt"] ?? traits["created_at"]).flatMap(CustomerIOMapping.unixSeconds) {
            contact["signed_up_at"] = .int(created)
        }
        var custom = JSONObject()
        for (key, value) in traits where !Self.standardAttributes.contains(key) {
            switch value {
            case .string, .int, .double, .bool: custom[key] = value
            default: continue
            }
        }
        if !custom.isEmpty { contact["custom_attributes"] = .object(custom) }
        let steps = [
            search,
            DeliveryPlan.Step(
                name: "create",
                request: DestinationRequest(method: .post, url: config.baseURL + "/contacts", headers: headers, body: .json(.object(contact))),
                when: DeliveryPlan.Condition(path: ["search", "total_count"], equals: 0)),
            DeliveryPlan.Step(
                name: "update",
                request: DestinationRequest(
                    method: .put, url: config.baseURL + "/contacts/{{search.data.0.id|path}}", headers: headers, body: .json(.object(contact))),
                when: DeliveryPlan.Condition(path: ["search", "total_count"], equals: 0, negated: true)),
        ]
        return .plan(DeliveryPlan(steps: steps))
    }

    /// Group → company upsert, then attach the event's user (found or created) to it.
    public func groupPlan(_ event: JSON) -> PlanOutcome {
        guard let groupId = event["groupId"]?.identifierText else { return .abort(reason: "group event has no groupId") }
        var company = JSONObject()
        company["company_id"] = .string(groupId)
        var custom = JSONObject()
        for (key, value) in event["traits"]?.objectValue ?? JSONObject() {
            if key == "createdAt" || key == "created_at" {
                if let seconds = CustomerIOMapping.unixSeconds(value) { company["remote_created_at"] = .int(seconds) }
                continue
            }
            guard SalesforcePlanner.isScalar(value), key != "id", key != "groupId" else { continue }
            if let field = Self.companyFields[key] {
                company[field] = value
            } else {
                custom[key] = value
            }
        }
        if !custom.isEmpty { company["custom_attributes"] = .object(custom) }
        var steps = [
            DeliveryPlan.Step(
                name: "company",
                request: DestinationRequest(method: .post, url: config.baseURL + "/companies", headers: headers, body: .json(.object(company))))
        ]
        // The group's own traits are not the user's: only context.traits identify the user here.
        var userEvent = event
        userEvent["traits"] = nil
        guard let (search, contact) = searchStep(userEvent) else { return .plan(DeliveryPlan(steps: steps)) }
        let attach: JSON = ["id": "{{company.id}}"]
        let none = DeliveryPlan.Condition(path: ["search", "total_count"], equals: 0)
        let found = DeliveryPlan.Condition(path: ["search", "total_count"], equals: 0, negated: true)
        steps += [
            search,
            DeliveryPlan.Step(
                name: "create",
                request: DestinationRequest(method: .post, url: config.baseURL + "/contacts", headers: headers, body: .json(.object(contact))),
                when: none),
            DeliveryPlan.Step(
                name: "attachCreated",
                request: DestinationRequest(
                    method: .post, url: config.baseURL + "/contacts/{{create.id|path}}/companies", headers: headers, body: .json(attach)),
                when: none),
            DeliveryPlan.Step(
                name: "attach",
                request: DestinationRequest(
                    method: .post, url: config.baseURL + "/contacts/{{search.data.0.id|path}}/companies", headers: headers,
                    body: .json(attach)),
                when: found),
        ]
        return .plan(DeliveryPlan(steps: steps))
    }

    /// The contact search by external_id (userId) or email, and the contact's identifying fields;
    /// `nil` when the event has neither.
    func searchStep(_ event: JSON) -> (step: DeliveryPlan.Step, contact: JSONObject)? {
        let email = event.mergedTraits["email"]?.identifierText
        let userId = event.userIdText
        guard let (field, value) = userId.map({ ("external_id", $0) }) ?? email.map({ ("email", $0) }) else { return nil }
        var contact = JSONObject()
        contact["role"] = "user"
        if let userId { contact["external_id"] = .string(userId) }
        if let email { contact["email"] = .string(email) }
        let search: JSON = ["query": ["field": .string(field), "operator": "=", "value": .string(value)]]
        let step = DeliveryPlan.Step(
            name: "search",
            request: DestinationRequest(method: .post, url: config.baseURL + "/contacts/search", headers: headers, body: .json(search)))
        return (step, contact)
    }
}

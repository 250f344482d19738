import EventModel

/// Intercom identify → a ``DeliveryPlan``: search the contact, then create or update it.
///
/// 1. `search`: `POST /contacts/search` `{query: {field: "external_id" | "email", operator: "=",
///    value}}` (external_id ← userId, else the email trait).
/// 2. `create` when `search.total_count` is 0: `POST /contacts` `{role: "user", external_id,
///    email, name, phone, signed_up_at (s), custom_attributes}`; `update` otherwise:
///    `PUT /contacts/{{search.data.0.id}}` with the same fields.
///
/// Custom attributes must exist in the Intercom workspace (Intercom answers 400 otherwise); only
/// scalar traits are sent. Not delivered yet: the router does not run plans (docs/destinations.md,
/// "Multi-step delivery"); group (company upsert, then attach by both Intercom ids) follows the same
/// shape.
public struct IntercomPlanner: Sendable {
    let config: IntercomConfig

    public init(config: JSON) throws(DestinationConfigError) { self.config = try IntercomConfig(config) }

    static let standardAttributes: Set<String> = ["email", "name", "phone", "firstName", "lastName", "createdAt", "created_at"]

    public func plan(_ event: JSON) -> PlanOutcome {
        guard event.messageType == .identify else {
            return .abort(reason: "message type \(event["type"]?.stringValue ?? "") is not supported by Intercom plans")
        }
        let traits = event.mergedTraits
        let email = traits["email"]?.identifierText
        let userId = event.userIdText
        guard let (field, value) = userId.map({ ("external_id", $0) }) ?? email.map({ ("email", $0) }) else {
            return .abort(reason: "Intercom identify needs a userId or an email trait")
        }
        var contact = JSONObject()
        contact["role"] = "user"
        if let userId { contact["external_id"] = .string(userId) }
        if let email { contact["email"] = .string(email) }
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

        let headers: [(name: String, value: String)] = [
            ("Content-Type", "application/json"), ("Accept", "application/json"), ("Authorization", config.authorization),
            ("Intercom-Version", config.apiVersion),
        ]
        let search: JSON = ["query": ["field": .string(field), "operator": "=", "value": .string(value)]]
        let steps = [
            DeliveryPlan.Step(
                name: "search",
                request: DestinationRequest(method: .post, url: config.baseURL + "/contacts/search", headers: headers, body: .json(search))),
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
}

import EventModel

/// HubSpot through the CRM v3 and custom behavioural events APIs, with a private app token.
///
/// - identify → `POST /crm/v3/objects/contacts/batch/upsert` with one input
///   `{idProperty: "email", id: <email>, properties}`: creates the contact or updates the one with
///   that email. Traits map to HubSpot's contact properties (`firstName` → `firstname`, `title` →
///   `jobtitle`, `postalCode` → `zip`, address parts, …); other scalar traits are sent under their
///   lower-cased names (HubSpot answers 400 for a property the portal does not define, and the
///   event goes to failed events with that reason). Without an email trait: abort.
/// - track → `POST /events/v3/send` `{eventName, email | utk, occurredAt, properties}`, where
///   `eventName` is the internal name configured for the track name in `events`; unmapped names
///   are dropped. The contact is identified by the email trait, else the `hubspotutk` cookie
///   (`context.hubspotutk` or `integrations.HubSpot.utk`).
/// - page, screen, group, alias → abort (page views come from HubSpot's own tracking code).
///
/// Batching (HubSpotBatch.swift): upserts combine into one batch upsert of up to 100 `inputs`, one
/// per email (HubSpot rejects duplicate ids in a batch, so a repeated email starts the next batch);
/// events combine into `POST /events/v3/send/batch` with up to 500 `inputs`.
struct HubSpotMapping: EventMapper {
    static let definition = DestinationDefinition(
        type: "hubspot", displayName: "HubSpot", integrationAliases: ["HUBSPOT", "hubspot", "Hubspot"],
        kind: .stream, supportedMessageTypes: [.identify, .track], secretConfigKeys: ["accessToken"],
        makeMapper: { config throws(DestinationConfigError) in HubSpotMapping(config: try HubSpotConfig(config)) }
    )

    /// Spec trait names → HubSpot's default contact property names.
    static let contactProperties: [String: String] = [
        "email": "email", "firstName": "firstname", "first_name": "firstname", "firstname": "firstname",
        "lastName": "lastname", "last_name": "lastname", "lastname": "lastname", "phone": "phone",
        "title": "jobtitle", "jobTitle": "jobtitle", "website": "website", "city": "city", "state": "state",
        "country": "country", "postalCode": "zip", "postal_code": "zip", "zip": "zip", "street": "address",
        "company": "company", "lifecycleStage": "lifecyclestage",
    ]

    let config: HubSpotConfig

    func map(_ event: JSON) -> MappingOutcome {
        switch event.messageType {
        case .identify: return identify(event)
        case .track: return track(event)
        default: return .abort(reason: "message type \(event["type"]?.stringValue ?? "") is not supported by HubSpot")
        }
    }

    private func identify(_ event: JSON) -> MappingOutcome {
        let traits = event.mergedTraits
        guard let email = traits["email"]?.identifierText else {
            return .abort(reason: "HubSpot identifies contacts by email: identify has no email trait")
        }
        var properties = JSONObject()
        for (key, value) in traits {
            if key == "address", let address = value.objectValue {
                for (part, partValue) in address {
                    if let name = Self.contactProperties[part], let text = Self.propertyText(partValue) {
                        properties[name] = .string(text)
                    }
                }
                continue
            }
            if key == "company", let company = value.objectValue {
                if let name = company["name"].flatMap(Self.propertyText) { properties["company"] = .string(name) }
                continue
            }
            guard let text = Self.propertyText(value) else { continue }
            properties[Self.contactProperties[key] ?? key.lowercased()] = .string(text)
        }
        let body: JSON = [
            "inputs": [["idProperty": "email", "id": .string(email), "properties": .object(properties)]]
        ]
        return .requests([request("/crm/v3/objects/contacts/batch/upsert", body)])
    }

    private func track(_ event: JSON) -> MappingOutcome {
        guard let name = event.eventName else { return .abort(reason: "track event has no event name") }
        guard let internalName = config.events[name] else {
            return .drop(reason: "no HubSpot custom event is configured for this event name (config events)")
        }
        var body = JSONObject()
        body["eventName"] = .string(internalName)
        let email = event.mergedTraits["email"]?.identifierText ?? event[path: "properties", "email"]?.identifierText
        let utk = event[path: "context", "hubspotutk"]?.identifierText ?? event[path: "integrations", "HubSpot", "utk"]?.identifierText
        if let email {
            body["email"] = .string(email)
        } else if let utk {
            body["utk"] = .string(utk)
        } else {
            return .abort(reason: "HubSpot events need the contact's email trait or a hubspotutk")
        }
        if let milliseconds = event.timestampMilliseconds {
            body["occurredAt"] = .string(Timestamp.format(millisecondsSinceEpoch: milliseconds))
        }
        var properties = JSONObject()
        for (key, value) in event.propertiesObject where key != "email" {
            if let text = Self.propertyText(value) { properties[key] = .string(text) }
        }
        body["properties"] = .object(properties)
        return .requests([request("/events/v3/send", .object(body))])
    }

    /// HubSpot property values are strings; nested values are not sent.
    static func propertyText(_ value: JSON) -> String? {
        switch value {
        case .string(let text): text
        case .int, .double, .bool: value.jsonString
        default: nil
        }
    }

    private func request(_ path: String, _ body: JSON) -> DestinationRequest {
        DestinationRequest(
            method: .post, url: config.baseURL + path,
            headers: [("Content-Type", "application/json"), ("Authorization", config.authorization)], body: .json(body))
    }
}

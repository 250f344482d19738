import EventModel

/// Braze through `POST /users/track` (`{attributes, events, purchases}`, REST key as Bearer).
///
/// Users: `external_id` ← userId; an anonymous visitor is the alias
/// `{alias_name: anonymousId, alias_label: "rudder_id"}` (RudderStack's label, so profiles made
/// by either tool merge the same way) with `_update_existing_only: false`, since Braze otherwise
/// only updates existing alias users.
///
/// - identify → an attributes object: spec traits to Braze profile fields (`firstName` →
///   `first_name`, `lastName` → `last_name`, `email`, `phone`, `gender` → M/F/O, `birthday` →
///   `dob` (YYYY-MM-DD), `address.city` → `home_city`, `address.country` → `country`, `avatar` →
///   `image_url`), other traits as custom attributes. With a userId and an anonymousId (and
///   `mergeAnonymousUsers`), first `POST /users/identify` with `aliases_to_identify`, so the
///   anonymous profile merges into the user.
/// - track → an events object `{name, time (ISO 8601), properties}`.
/// - track `Order Completed` → purchases, one per product `{product_id, currency, price,
///   quantity, time, properties}` (`currency` from the order, default USD; products without an id
///   or a price are left out; no product at all aborts).
/// - page, screen, group, alias → abort.
///
/// Batching: `/users/track` takes up to 75 objects per array (attributes, events, purchases);
/// jobs of one destination combine by concatenating the arrays until one would pass 75. A 201
/// with `errors` lists failing objects by index, which maps back to the job. `/users/identify`
/// requests take up to 50 `aliases_to_identify` and combine the same way.
struct BrazeMapping: EventMapper {
    static let definition = DestinationDefinition(
        type: "braze", displayName: "Braze", integrationAliases: ["BRAZE", "braze"],
        kind: .stream, supportedMessageTypes: [.identify, .track], secretConfigKeys: ["restApiKey"],
        makeMapper: { config throws(DestinationConfigError) in BrazeMapping(config: try BrazeConfig(config)) }
    )

    static let aliasLabel = "rudder_id"

    let config: BrazeConfig

    func map(_ event: JSON) -> MappingOutcome {
        guard let user = Self.userFields(event) else {
            return .abort(reason: "Braze needs an external_id or an alias: the event has neither userId nor anonymousId")
        }
        switch event.messageType {
        case .identify:
            var requests: [DestinationRequest] = []
            if config.mergeAnonymousUsers, let userId = event.userIdText, let anonymousId = event.anonymousIdText {
                let body: JSON = [
                    "aliases_to_identify": [
                        ["external_id": .string(userId), "user_alias": Self.alias(anonymousId)]
                    ]
                ]
                requests.append(request("/users/identify", body))
            }
            var attributes = user
            for (key, value) in Self.attributes(event.mergedTraits) { attributes[key] = value }
            requests.append(request("/users/track", ["attributes": [.object(attributes)]]))
            return .requests(requests)
        case .track:
            guard let name = event.eventName else { return .abort(reason: "track event has no event name") }
            let time = event.timestampMilliseconds.map { JSON.string(Timestamp.format(millisecondsSinceEpoch: $0)) }
            let properties = event.propertiesObject
            if name.trimmingSpaces.lowercased() == "order completed" {
                return purchases(properties, user: user, time: time)
            }
            var object = user
            object["name"] = .string(name)
            if let time { object["time"] = time }
            object["properties"] = .object(properties)
            return .requests([request("/users/track", ["events": [.object(object)]])])
        default:
            return .abort(reason: "message type \(event["type"]?.stringValue ?? "") is not supported by Braze")
        }
    }

    private func purchases(_ properties: JSONObject, user: JSONObject, time: JSON?) -> MappingOutcome {
        let currency = properties["currency"]?.stringValue.map { $0.uppercased() } ?? "USD"
        var purchases: [JSON] = []
        for product in properties["products"]?.arrayValue ?? [] {
            guard let product = product.objectValue,
                let productId = (product["product_id"] ?? product["sku"] ?? product["id"])?.identifierText,
                let price = product["price"]?.doubleValue
            else { continue }
            var object = user
            object["product_id"] = .string(productId)
            object["currency"] = .string(currency)
            object["price"] = .double(price)
            object["quantity"] = .int(product["quantity"]?.intValue ?? 1)
            if let time { object["time"] = time }
            var purchaseProperties = JSONObject()
            for (key, value) in product where !["product_id", "sku", "id", "price", "quantity", "currency"].contains(key) {
                purchaseProperties[key] = value
            }
            if let orderId = properties["order_id"] { purchaseProperties["order_id"] = orderId }
            object["properties"] = .object(purchaseProperties)
            purchases.append(.object(object))
        }
        guard !purchases.isEmpty else {
            return .abort(reason: "Order Completed has no product with a product_id and a price")
        }
        return .requests([request("/users/track", ["purchases": .array(purchases)])])
    }

    /// `external_id`, or the anonymous alias with "update only" off so Braze creates the profile.
    static func userFields(_ event: JSON) -> JSONObject? {
        var fields = JSONObject()
        if let userId = event.userIdText {
            fields["external_id"] = .string(userId)
        } else if let anonymousId = event.anonymousIdText {
            fields["user_alias"] = alias(anonymousId)
            fields["_update_existing_only"] = false
        } else {
            return nil
        }
        return fields
    }

    static func alias(_ anonymousId: String) -> JSON {
        ["alias_name": .string(anonymousId), "alias_label": .string(aliasLabel)]
    }

    static let profileFields: [String: String] = [
        "firstName": "first_name", "first_name": "first_name", "lastName": "last_name", "last_name": "last_name",
        "email": "email", "phone": "phone", "avatar": "image_url", "language": "language",
    ]

    /// Traits as Braze attributes: profile fields renamed, others as custom attributes.
    static func attributes(_ traits: JSONObject) -> JSONObject {
        var out = JSONObject()
        for (key, value) in traits {
            switch key {
            case "gender":
                if let gender = value.stringValue.flatMap(brazeGender) { out["gender"] = .string(gender) }
            case "birthday":
                if let text = value.stringValue, let milliseconds = EventTime.milliseconds(text) {
                    out["dob"] = .string(String(Timestamp.format(millisecondsSinceEpoch: milliseconds).prefix(10)))
                } else if let text = value.stringValue, text.count == 10 {
                    out["dob"] = .string(text)
                }
            case "address":
                if let address = value.objectValue {
                    if let city = address["city"]?.stringValue { out["home_city"] = .string(city) }
                    if let country = address["country"]?.stringValue { out["country"] = .string(country) }
                }
            case "userId", "id", "anonymousId":
                continue
            default:
                out[profileFields[key] ?? key] = value
            }
        }
        return out
    }

    /// Braze's gender codes: M, F, O (other), N (not applicable), P (prefer not to say), U (unknown).
    static func brazeGender(_ text: String) -> String? {
        switch text.trimmingSpaces.lowercased() {
        case "m", "male", "man": "M"
        case "f", "female", "woman": "F"
        case "o", "other", "non-binary", "nonbinary": "O"
        case "n", "not applicable": "N"
        case "p", "prefer not to say": "P"
        case "u", "unknown": "U"
        default: nil
        }
    }

    private func request(_ path: String, _ body: JSON) -> DestinationRequest {
        DestinationRequest(
            method: .post, url: config.baseURL + path,
            headers: [("Content-Type", "application/json"), ("Authorization", config.authorization)], body: .json(body))
    }
}

import EventModel

/// The RudderStack/Segment e-commerce spec mapped to GA4's recommended events.
struct GA4EcommerceEvent: Sendable {
    enum Items: Sendable {
        /// No items.
        case none
        /// `properties.products`.
        case products
        /// The event's own properties describe one product.
        case singleProduct
    }

    var name: String
    /// GA4 parameter ← spec property, first present wins (in order).
    var parameters: [(ga4: String, spec: [String])]
    var items: Items
    /// GA4 rejects (or cannot report) the event without items.
    var itemsRequired: Bool = false
    /// Fixed parameters, e.g. `content_type` for share events.
    var constants: [(String, JSON)] = []
    /// Spec properties this event's mapping uses (so not repeated as custom parameters):
    /// `products`, the parameters' spec names, and the item fields' for single-product events.
    /// Filled in once by ``table``.
    var consumedKeys: Set<String> = []

    static let value: (String, [String]) = ("value", ["value", "revenue", "total", "price"])
    static let currency: (String, [String]) = ("currency", ["currency"])
    static let listParameters: [(String, [String])] = [("item_list_id", ["list_id"]), ("item_list_name", ["category", "list_name"])]
    static let promotionParameters: [(String, [String])] = [
        ("promotion_id", ["promotion_id"]), ("promotion_name", ["name"]), ("creative_name", ["creative"]),
        ("creative_slot", ["position"]), ("location_id", ["location_id"]),
    ]

    /// Keyed by the lower-cased spec event name.
    static let table: [String: GA4EcommerceEvent] = specTable.mapValues { event in
        var event = event
        event.consumedKeys = Parameters.alwaysConsumed.union(event.parameters.flatMap(\.spec))
        if case .singleProduct = event.items { event.consumedKeys.formUnion(itemFields.flatMap(\.spec)) }
        return event
    }

    private static let specTable: [String: GA4EcommerceEvent] = [
        "products searched": .init(name: "search", parameters: [("search_term", ["query"])], items: .none),
        "product list viewed": .init(name: "view_item_list", parameters: listParameters, items: .products, itemsRequired: true),
        "product clicked": .init(name: "select_item", parameters: listParameters, items: .singleProduct, itemsRequired: true),
        "product viewed": .init(name: "view_item", parameters: [currency, value], items: .singleProduct, itemsRequired: true),
        "product added": .init(name: "add_to_cart", parameters: [currency, value], items: .singleProduct, itemsRequired: true),
        "product removed": .init(name: "remove_from_cart", parameters: [currency, value], items: .singleProduct, itemsRequired: true),
        "product added to wishlist": .init(name: "add_to_wishlist", parameters: [currency, value], items: .singleProduct, itemsRequired: true),
        "cart viewed": .init(name: "view_cart", parameters: [currency, value], items: .products, itemsRequired: true),
        "checkout started": .init(
            name: "begin_checkout", parameters: [currency, value, ("coupon", ["coupon"])], items: .products, itemsRequired: true),
        "payment info entered": .init(
            name: "add_payment_info", parameters: [currency, value, ("coupon", ["coupon"]), ("payment_type", ["payment_method", "payment_type"])],
            items: .products),
        "order completed": .init(
            name: "purchase",
            parameters: [
                ("transaction_id", ["order_id", "checkout_id"]), currency, value, ("tax", ["tax"]), ("shipping", ["shipping"]),
                ("coupon", ["coupon"]), ("affiliation", ["affiliation"]),
            ],
            items: .products, itemsRequired: true),
        "order refunded": .init(
            name: "refund",
            parameters: [("transaction_id", ["order_id", "checkout_id"]), currency, value, ("tax", ["tax"]), ("shipping", ["shipping"])],
            items: .products),
        "promotion viewed": .init(name: "view_promotion", parameters: promotionParameters, items: .products),
        "promotion clicked": .init(name: "select_promotion", parameters: promotionParameters, items: .products),
        "product shared": .init(
            name: "share", parameters: [("method", ["share_via", "method"]), ("item_id", ["product_id", "sku"])], items: .none,
            constants: [("content_type", "product")]),
        "cart shared": .init(
            name: "share", parameters: [("method", ["share_via", "method"]), ("item_id", ["cart_id"])], items: .none,
            constants: [("content_type", "cart")]),
        "signed up": .init(name: "sign_up", parameters: [("method", ["method", "signup_method"])], items: .none),
        "logged in": .init(name: "login", parameters: [("method", ["method", "login_method"])], items: .none),
        "lead generated": .init(name: "generate_lead", parameters: [currency, value], items: .none),
    ]

    /// Spec product fields → GA4 item fields (first present wins).
    static let itemFields: [(ga4: String, spec: [String])] = [
        ("item_id", ["product_id", "sku", "id"]), ("item_name", ["name"]), ("affiliation", ["affiliation"]),
        ("coupon", ["coupon"]), ("discount", ["discount"]), ("index", ["position"]), ("item_brand", ["brand"]),
        ("item_category", ["category"]), ("item_category2", ["category2"]), ("item_category3", ["category3"]),
        ("item_category4", ["category4"]), ("item_category5", ["category5"]), ("item_list_id", ["list_id"]),
        ("item_list_name", ["list_name"]), ("item_variant", ["variant"]), ("location_id", ["location_id"]),
        ("price", ["price"]), ("quantity", ["quantity"]),
    ]

    /// A GA4 item from a spec product; `nil` when it has neither an id nor a name.
    static func item(from product: JSONObject) -> JSON? {
        var item = JSONObject()
        for (ga4, spec) in itemFields {
            if let value = spec.lazy.compactMap({ product[$0] }).first(where: { !$0.isNull }) { item[ga4] = value }
        }
        guard item["item_id"] != nil || item["item_name"] != nil else { return nil }
        return .object(item)
    }
}

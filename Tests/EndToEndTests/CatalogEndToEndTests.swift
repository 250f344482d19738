import EventModel
import Foundation
import XCTest

/// Events sent to the real gateway as an SDK sends them travel through Kafka, the processor's
/// destination mappings and the router to a local server that answers like each tool's public
/// API; each test checks what the tool received (method, path, query, auth, body) against that
/// tool's documentation. One harness (gateway, processor, router, one database, one topic
/// prefix) serves the whole class; each destination has its own source, so tests do not mix.
///
/// Expectations are written from the tools' docs, not from our mapping's output, and assertions
/// look events up by id across all received requests, so batched delivery (several events per
/// request) passes as long as each event arrives once with the right content.
final class CatalogEndToEndTests: XCTestCase {
    static let shared = SharedHarness { tools in E2EWorkspace.yaml(tools: tools) }

    override class func tearDown() {
        shared.stopBlocking()
        super.tearDown()
    }

    /// 2026-11-29T12:00:01.000Z, the timestamp of most test events.
    static let t1 = "2026-11-29T12:00:01.000Z"
    static let t1Millis: Int64 = 1_795_953_601_000
    static let t1Seconds: Int64 = 1_795_953_601

    // MARK: Amplitude — HTTP V2 API, api_key in the body, insert_id for dedup

    func testAmplitudeReceivesEveryMessageTypeAsHTTPV2Events() async throws {
        let harness = try await Self.shared.get()
        let user = "amp-user-1001", anon = "amp-anon-0001"
        func event(_ type: String, _ id: String, _ fields: JSONObject) -> JSON {
            SDKEvent.make(type, messageId: id, userId: user, anonymousId: anon, timestamp: Self.t1, fields: fields)
        }
        var batch: [JSON] = [
            event("identify", "amp-identify", ["traits": ["email": "ada@example.com", "firstName": "Ada", "plan": "pro"]]),
            event("track", "amp-track", ["event": "Order Completed", "properties": ["order_id": "o-17", "revenue": 30.5, "currency": "EUR"]]),
            event("page", "amp-page", ["name": "Pricing", "properties": ["url": "https://example.com/pricing"]]),
            event("screen", "amp-screen", ["name": "Home"]),
            event("group", "amp-group", ["groupId": "acme-1", "traits": ["name": "Acme", "employees": 120]]),
            event("alias", "amp-alias", ["previousId": "old-amp-user"]),
        ]
        // Other users' events: with batching on, these may share an upload with the first user's.
        for n in 2...4 {
            batch.append(
                SDKEvent.make(
                    "track", messageId: "amp-other-\(n)", userId: "amp-user-100\(n)", timestamp: Self.t1,
                    fields: ["event": "Song Played", "properties": ["n": .int(Int64(n))]]))
        }
        try await harness.sendBatch(writeKey: E2EWorkspace.writeKey("amplitude"), batch)
        let requests = try await harness.waitForRequests("amplitude") { received in
            Self.amplitudeEvents(received).filter { $0["insert_id"]?.stringValue?.hasPrefix("amp-") == true }.count >= 8
                && received.contains { $0.path == "/groupidentify" }
        }
        XCTAssertTrue(requests.allSatisfy { $0.status == 200 }, "every upload accepted: \(requests)")
        for upload in requests where upload.path != "/groupidentify" {
            XCTAssertEqual(upload.method, "POST")
            XCTAssertTrue(["/2/httpapi", "/batch"].contains(upload.path), upload.path)
            XCTAssertEqual(upload.headers["content-type"], "application/json")
            XCTAssertEqual(upload.json?["api_key"]?.stringValue, Credentials.amplitudeKey)
        }
        let events = Self.amplitudeEvents(requests).filter { $0["insert_id"]?.stringValue?.hasPrefix("amp-") == true }
        // insert_id = messageId, once each (Amplitude deduplicates on it for 7 days); alias is not sent.
        XCTAssertEqual(
            events.compactMap { $0["insert_id"]?.stringValue }.sorted(),
            ["amp-group", "amp-identify", "amp-other-2", "amp-other-3", "amp-other-4", "amp-page", "amp-screen", "amp-track"])
        for item in events where item["insert_id"]?.stringValue?.hasPrefix("amp-other") == false {
            XCTAssertEqual(item["user_id"]?.stringValue, user)
            XCTAssertEqual(item["device_id"]?.stringValue, anon)
            XCTAssertEqual(item["time"]?.intValue, Self.t1Millis, "time in ms since epoch")
        }
        let byId = Dictionary(events.map { ($0["insert_id"]?.stringValue ?? "", $0) }, uniquingKeysWith: { first, _ in first })
        // Identify: the `$identify` event with user property operations.
        XCTAssertEqual(byId["amp-identify"]?["event_type"], "$identify")
        XCTAssertEqual(byId["amp-identify"]?[path: "user_properties", "$set", "email"], "ada@example.com")
        XCTAssertEqual(byId["amp-identify"]?[path: "user_properties", "$set", "plan"], "pro")
        XCTAssertEqual(byId["amp-track"]?["event_type"], "Order Completed")
        XCTAssertEqual(byId["amp-track"]?[path: "event_properties", "order_id"], "o-17")
        XCTAssertEqual(byId["amp-track"]?["revenue"]?.doubleValue, 30.5)
        XCTAssertEqual(byId["amp-page"]?["event_type"], "Viewed Pricing Page")
        XCTAssertEqual(byId["amp-screen"]?["event_type"], "Viewed Home Screen")
        XCTAssertEqual(byId["amp-group"]?[path: "groups", "company"], "acme-1")
        for n in 2...4 {
            XCTAssertEqual(byId["amp-other-\(n)"]?["user_id"], .string("amp-user-100\(n)"))
            XCTAssertEqual(byId["amp-other-\(n)"]?["event_type"], "Song Played")
            XCTAssertEqual(byId["amp-other-\(n)"]?[path: "event_properties", "n"]?.intValue, Int64(n))
        }
        // Group Identify API: a form with api_key and identification (JSON) setting the group's properties.
        let groupIdentify = try XCTUnwrap(requests.first { $0.path == "/groupidentify" })
        XCTAssertEqual(groupIdentify.method, "POST")
        XCTAssertEqual(groupIdentify.form["api_key"], Credentials.amplitudeKey)
        let identification = try JSON(parsing: Array((groupIdentify.form["identification"] ?? "").utf8))
        XCTAssertEqual(identification[0]?["group_type"], "company")
        XCTAssertEqual(identification[0]?["group_value"], "acme-1")
        XCTAssertEqual(identification[0]?[path: "group_properties", "$set", "name"], "Acme")
        XCTAssertEqual(requests.filter { $0.path == "/groupidentify" }.count, 1)
    }

    /// Many users' events at once: the router may combine them (Amplitude's Batch Event Upload API,
    /// `POST /batch`, same `{api_key, events}` body); every event must still arrive exactly once.
    func testAmplitudeDeliversManyUsersEventsEachOnceInFewerUploads() async throws {
        let harness = try await Self.shared.get()
        let count = 30
        let batch = (1...count).map { n in
            SDKEvent.make(
                "track", messageId: "ampb-\(n)", userId: "ampb-user-\(1000 + n)", timestamp: Self.t1,
                fields: ["event": "Song Played", "properties": ["n": .int(Int64(n))]])
        }
        try await harness.sendBatch(writeKey: E2EWorkspace.writeKey("amplitude"), batch)
        func ours(_ requests: [ReceivedRequest]) -> [ReceivedRequest] {
            requests.filter { request in
                request.json?["events"]?.arrayValue?.contains { $0["insert_id"]?.stringValue?.hasPrefix("ampb-") == true } == true
            }
        }
        let requests = ours(try await harness.waitForRequests("amplitude") { Self.amplitudeEvents(ours($0)).count >= count })
        XCTAssertTrue(requests.allSatisfy { $0.status == 200 && $0.json?["api_key"]?.stringValue == Credentials.amplitudeKey }, "\(requests)")
        let ids = Self.amplitudeEvents(requests).compactMap { $0["insert_id"]?.stringValue }
        XCTAssertEqual(ids.sorted(), (1...count).map { "ampb-\($0)" }.sorted(), "each event once")
        XCTAssertTrue(requests.allSatisfy { $0.path == "/2/httpapi" || $0.path == "/batch" })
        XCTAssertLessThan(requests.count, count, "combined into batch uploads: \(requests.map { "\($0.path) ×\($0.json?["events"]?.arrayValue?.count ?? 0)" })")
        for request in requests where request.path == "/batch" {
            XCTAssertEqual(Set(request.json?["events"]?.arrayValue?.compactMap { $0["user_id"]?.stringValue } ?? []).count, request.json?["events"]?.arrayValue?.count, "at most one event per user in a batch (order per user)")
        }
    }

    static func amplitudeEvents(_ requests: [ReceivedRequest]) -> [JSON] {
        requests.filter { $0.path == "/2/httpapi" || $0.path == "/batch" }.flatMap { $0.json?["events"]?.arrayValue ?? [] }
    }

    // MARK: Mixpanel — /import with a service account, /engage and /groups with the project token

    func testMixpanelImportsEventsAndUpdatesProfilesAndGroups() async throws {
        let harness = try await Self.shared.get()
        let user = "mp-user-1001", anon = "mp-anon-0001"
        func event(_ type: String, _ id: String, _ fields: JSONObject) -> JSON {
            SDKEvent.make(type, messageId: id, userId: user, anonymousId: anon, timestamp: Self.t1, fields: fields)
        }
        try await harness.sendBatch(
            writeKey: E2EWorkspace.writeKey("mixpanel"),
            [
                event("identify", "mp-identify-0001", ["traits": ["email": "ada@example.com", "firstName": "Ada", "plan": "pro"]]),
                event("track", "mp-track-0001", ["event": "Order Completed", "properties": ["order_id": "o-17", "total": 30.5]]),
                event("page", "mp-page-0001", ["name": "Pricing", "properties": ["url": "https://example.com/pricing"]]),
                event("screen", "mp-screen-0001", ["name": "Home"]),
                event("group", "mp-group-0001", ["groupId": "acme-1", "traits": ["name": "Acme"]]),
                event("alias", "mp-alias-0001", ["previousId": "old-mp-user"]),
            ])
        let requests = try await harness.waitForRequests("mixpanel") { received in
            let imported = Set(Self.mixpanelImported(received).compactMap { $0[path: "properties", "$insert_id"]?.stringValue })
            return imported.isSuperset(of: ["mp-track-0001", "mp-page-0001", "mp-screen-0001"])
                && Self.mixpanelUpdates(received, "/engage").count >= 2 && !Self.mixpanelUpdates(received, "/groups").isEmpty
        }
        XCTAssertTrue(requests.allSatisfy { $0.status == 200 }, "\(requests)")
        for request in requests where request.path == "/import" {
            XCTAssertEqual(request.method, "POST")
            XCTAssertEqual(request.query["strict"], "1", "strict validation, so bad events are reported")
            XCTAssertEqual(request.query["project_id"], Credentials.mixpanelProject, "service accounts name the project")
            XCTAssertEqual(request.authorization, Credentials.basic(Credentials.mixpanelUser, Credentials.mixpanelSecret))
        }
        for request in requests where request.path != "/import" {
            XCTAssertNil(request.authorization, "profile and group updates are authenticated by $token only")
            XCTAssertEqual(request.bodyText.isEmpty, false)
        }
        let imported = Self.mixpanelImported(requests)
        let byId = Dictionary(imported.map { ($0[path: "properties", "$insert_id"]?.stringValue ?? "", $0) }, uniquingKeysWith: { a, _ in a })
        XCTAssertEqual(imported.count, byId.count, "each event imported once")
        let track = try XCTUnwrap(byId["mp-track-0001"])
        XCTAssertEqual(track["event"], "Order Completed")
        XCTAssertEqual(track[path: "properties", "distinct_id"], .string(user))
        XCTAssertEqual(track[path: "properties", "time"]?.intValue, Self.t1Millis)
        XCTAssertEqual(track[path: "properties", "order_id"], "o-17")
        // Simplified ID Merge: both ids on every event.
        XCTAssertEqual(track[path: "properties", "$user_id"], .string(user))
        XCTAssertEqual(track[path: "properties", "$device_id"], .string(anon))
        XCTAssertNotNil(byId["mp-page-0001"]?["event"]?.stringValue)
        XCTAssertNotNil(byId["mp-screen-0001"]?["event"]?.stringValue)

        let engage = Self.mixpanelUpdates(requests, "/engage")
        XCTAssertTrue(engage.allSatisfy { $0["$token"]?.stringValue == Credentials.mixpanelToken && $0["$distinct_id"]?.stringValue == user })
        let set = try XCTUnwrap(engage.first { $0["$set"] != nil })
        XCTAssertEqual(set[path: "$set", "$email"], "ada@example.com", "reserved profile property")
        XCTAssertEqual(set[path: "$set", "$first_name"], "Ada")
        XCTAssertEqual(set[path: "$set", "plan"], "pro")
        let union = try XCTUnwrap(engage.first { $0["$union"] != nil })
        XCTAssertEqual(union[path: "$union", "company"], ["acme-1"])
        let group = try XCTUnwrap(Self.mixpanelUpdates(requests, "/groups").first)
        XCTAssertEqual(group["$token"]?.stringValue, Credentials.mixpanelToken)
        XCTAssertEqual(group["$group_key"], "company")
        XCTAssertEqual(group["$group_id"], "acme-1")
        XCTAssertEqual(group[path: "$set", "name"], "Acme")

        // Alias has no meaning under Simplified ID Merge: nothing sent, the reason recorded.
        XCTAssertFalse(requests.contains { $0.bodyText.contains("old-mp-user") })
        let errors = try await harness.processingErrors(destination: "mixpanel")
        XCTAssertEqual(errors.map(\.stage), ["destination_transformation"], "\(errors)")
    }

    static func mixpanelImported(_ requests: [ReceivedRequest]) -> [JSON] {
        requests.filter { $0.path == "/import" }.flatMap { $0.json?.arrayValue ?? [] }
    }

    static func mixpanelUpdates(_ requests: [ReceivedRequest], _ path: String) -> [JSON] {
        requests.filter { $0.path == path }.flatMap { $0.json?.arrayValue ?? [] }
    }

    // MARK: HubSpot — private app token, contacts batch upsert, custom behavioural events

    func testHubSpotUpsertsContactsAndSendsConfiguredCustomEvents() async throws {
        let harness = try await Self.shared.get()
        let user = "hs-user-1001"
        let traits: JSON = ["email": "grace@example.com", "firstName": "Grace", "lastName": "Hopper", "title": "Rear Admiral"]
        try await harness.sendBatch(
            writeKey: E2EWorkspace.writeKey("hubspot"),
            [
                SDKEvent.make("identify", messageId: "hs-identify", userId: user, timestamp: Self.t1, fields: ["traits": traits]),
                SDKEvent.make(
                    "track", messageId: "hs-track", userId: user, timestamp: Self.t1,
                    fields: ["event": "Signed Up", "properties": ["plan": "pro"]], context: ["traits": ["email": "grace@example.com"]]),
                SDKEvent.make(
                    "track", messageId: "hs-unmapped", userId: user, timestamp: Self.t1, fields: ["event": "Clicked Banner"],
                    context: ["traits": ["email": "grace@example.com"]]),
                SDKEvent.make("page", messageId: "hs-page", userId: user, timestamp: Self.t1, fields: ["name": "Pricing"]),
            ])
        let requests = try await harness.waitForRequests("hubspot") { received in
            !Self.hubspotInputs(received).isEmpty && received.contains { $0.path.hasPrefix("/events/v3/send") }
        }
        XCTAssertTrue(requests.allSatisfy { (200..<300).contains($0.status) }, "\(requests)")
        XCTAssertTrue(requests.allSatisfy { $0.authorization == "Bearer " + Credentials.hubspotToken && $0.method == "POST" })
        let inputs = Self.hubspotInputs(requests)
        XCTAssertEqual(inputs.count, 1)
        XCTAssertEqual(inputs.first?["idProperty"], "email", "upsert keyed by the unique email property")
        XCTAssertEqual(inputs.first?["id"], "grace@example.com")
        XCTAssertEqual(inputs.first?[path: "properties", "firstname"], "Grace", "HubSpot's internal contact property names")
        XCTAssertEqual(inputs.first?[path: "properties", "lastname"], "Hopper")
        XCTAssertEqual(inputs.first?[path: "properties", "jobtitle"], "Rear Admiral")

        let sent = requests.filter { $0.path.hasPrefix("/events/v3/send") }.flatMap { request -> [JSON] in
            request.path == "/events/v3/send/batch" ? (request.json?["inputs"]?.arrayValue ?? []) : [request.json ?? .null]
        }
        XCTAssertEqual(sent.count, 1, "only the event with a configured custom event is sent; page is not supported")
        XCTAssertEqual(sent.first?["eventName"], "pe4242_signed_up")
        XCTAssertEqual(sent.first?["email"], "grace@example.com")
        XCTAssertEqual(sent.first?["occurredAt"]?.stringValue?.hasPrefix("2026-11-29T12:00:01"), true)
        XCTAssertEqual(sent.first?[path: "properties", "plan"], "pro")
    }

    static func hubspotInputs(_ requests: [ReceivedRequest]) -> [JSON] {
        requests.filter { $0.path == "/crm/v3/objects/contacts/batch/upsert" }.flatMap { $0.json?["inputs"]?.arrayValue ?? [] }
    }

    // MARK: Braze — REST key as Bearer on the instance's URL, /users/identify then /users/track

    func testBrazeTracksAttributesEventsAndPurchasesAndMergesAnonymousUsers() async throws {
        let harness = try await Self.shared.get()
        let user = "bz-user-1001", anon = "bz-anon-0001", visitor = "bz-visitor-0002"
        try await harness.sendBatch(
            writeKey: E2EWorkspace.writeKey("braze"),
            [
                SDKEvent.make(
                    "identify", messageId: "bz-identify", userId: user, anonymousId: anon, timestamp: Self.t1,
                    fields: ["traits": ["email": "ada@example.com", "firstName": "Ada", "plan": "pro"]]),
                SDKEvent.make(
                    "track", messageId: "bz-track", userId: user, anonymousId: anon, timestamp: Self.t1,
                    fields: ["event": "Signed Up", "properties": ["plan": "pro"]]),
                SDKEvent.make(
                    "track", messageId: "bz-order", userId: user, anonymousId: anon, timestamp: Self.t1,
                    fields: [
                        "event": "Order Completed",
                        "properties": ["currency": "EUR", "products": [["product_id": "sku-1", "price": 10.0, "quantity": 2], ["product_id": "sku-2", "price": 5.5]]],
                    ]),
                SDKEvent.make("track", messageId: "bz-anon", anonymousId: visitor, timestamp: Self.t1, fields: ["event": "Viewed Pricing"]),
                SDKEvent.make("group", messageId: "bz-group", userId: user, timestamp: Self.t1, fields: ["groupId": "acme-1"]),
            ])
        let requests = try await harness.waitForRequests("braze") { received in
            let objects = Self.brazeObjects(received)
            return objects.attributes.count >= 1 && objects.events.count >= 2 && objects.purchases.count >= 2
                && received.contains { $0.path == "/users/identify" }
        }
        XCTAssertTrue(requests.allSatisfy { $0.status == 201 }, "\(requests)")
        XCTAssertTrue(requests.allSatisfy { $0.authorization == "Bearer " + Credentials.brazeKey && $0.method == "POST" })
        XCTAssertTrue(requests.allSatisfy { $0.headers["content-type"] == "application/json" })
        // The anonymous profile is merged into the identified user before its attributes are set.
        let identify = try XCTUnwrap(requests.first { $0.path == "/users/identify" })
        XCTAssertEqual(identify.json?[path: "aliases_to_identify"]?[0]?["external_id"], .string(user))
        XCTAssertEqual(identify.json?[path: "aliases_to_identify"]?[0]?[path: "user_alias", "alias_name"], .string(anon))
        XCTAssertNotNil(identify.json?[path: "aliases_to_identify"]?[0]?[path: "user_alias", "alias_label"]?.stringValue)
        let firstTrack = try XCTUnwrap(requests.firstIndex { $0.path == "/users/track" })
        XCTAssertLessThan(try XCTUnwrap(requests.firstIndex { $0.path == "/users/identify" }), firstTrack, "identify before the user's track calls")

        let objects = Self.brazeObjects(requests)
        XCTAssertEqual(objects.attributes.count, 1)
        XCTAssertEqual(objects.attributes.first?["external_id"], .string(user))
        XCTAssertEqual(objects.attributes.first?["email"], "ada@example.com")
        XCTAssertEqual(objects.attributes.first?["first_name"], "Ada", "Braze's standard attribute name")
        XCTAssertEqual(objects.attributes.first?["plan"], "pro", "custom attribute")
        let signedUp = try XCTUnwrap(objects.events.first { $0["name"] == "Signed Up" })
        XCTAssertEqual(signedUp["external_id"], .string(user))
        XCTAssertEqual(signedUp["time"]?.stringValue?.hasPrefix("2026-11-29T12:00:01"), true, "ISO 8601 time")
        XCTAssertEqual(signedUp[path: "properties", "plan"], "pro")
        // An anonymous visitor is a user alias that Braze may create.
        let anonymous = try XCTUnwrap(objects.events.first { $0["name"] == "Viewed Pricing" })
        XCTAssertEqual(anonymous[path: "user_alias", "alias_name"], .string(visitor))
        XCTAssertNil(anonymous["external_id"])
        XCTAssertEqual(anonymous["_update_existing_only"], false)
        // Order Completed: one purchase per product.
        XCTAssertEqual(objects.purchases.compactMap { $0["product_id"]?.stringValue }.sorted(), ["sku-1", "sku-2"])
        let first = try XCTUnwrap(objects.purchases.first { $0["product_id"] == "sku-1" })
        XCTAssertEqual(first["currency"], "EUR")
        XCTAssertEqual(first["price"]?.doubleValue, 10.0)
        XCTAssertEqual(first["quantity"]?.intValue, 2)
        XCTAssertEqual(first["external_id"], .string(user))
        XCTAssertFalse(objects.events.contains { $0["name"] == "Order Completed" }, "a purchase, not a custom event")
        XCTAssertFalse(requests.contains { $0.bodyText.contains("acme-1") }, "group is not supported")
    }

    static func brazeObjects(_ requests: [ReceivedRequest]) -> (attributes: [JSON], events: [JSON], purchases: [JSON]) {
        let tracks = requests.filter { $0.path == "/users/track" }
        return (
            tracks.flatMap { $0.json?["attributes"]?.arrayValue ?? [] }, tracks.flatMap { $0.json?["events"]?.arrayValue ?? [] },
            tracks.flatMap { $0.json?["purchases"]?.arrayValue ?? [] }
        )
    }

    // MARK: Slack — incoming webhooks, templates, channel rules, escaping

    func testSlackPostsTemplatedMessagesToTheRightWebhook() async throws {
        let harness = try await Self.shared.get()
        let user = "sl-user-1001"
        let traits: JSON = ["firstName": "Ada", "lastName": "Lovelace"]
        try await harness.sendBatch(
            writeKey: E2EWorkspace.writeKey("slack"),
            [
                SDKEvent.make("identify", messageId: "sl-identify", userId: user, timestamp: Self.t1, fields: ["traits": traits]),
                SDKEvent.make(
                    "track", messageId: "sl-signup", userId: user, timestamp: Self.t1, fields: ["event": "Signed Up"],
                    context: ["traits": traits]),
                SDKEvent.make(
                    "track", messageId: "sl-order", userId: user, timestamp: Self.t1,
                    fields: ["event": "Order Completed", "properties": ["total": 30.5, "currency": "EUR"]], context: ["traits": traits]),
                SDKEvent.make(
                    "track", messageId: "sl-inject", userId: user, timestamp: Self.t1, fields: ["event": "Shared <!channel> & more"],
                    context: ["traits": traits]),
                SDKEvent.make("page", messageId: "sl-page", userId: user, timestamp: Self.t1, fields: ["name": "Pricing"]),
            ])
        let requests = try await harness.waitForRequests("slack") { $0.count >= 4 }
        XCTAssertEqual(requests.count, 4, "identify and three tracks; page is not supported: \(requests)")
        XCTAssertTrue(requests.allSatisfy { $0.status == 200 && $0.method == "POST" && $0.headers["content-type"] == "application/json" })
        let main = requests.filter { $0.path == "/services/T0E2E/B0MAIN/main-hook" }.compactMap { $0.json?["text"]?.stringValue }
        XCTAssertEqual(
            main, ["Identified Ada Lovelace", "Ada Lovelace did Signed Up", "Ada Lovelace did Shared &lt;!channel&gt; &amp; more"],
            "in order; <, > and & escaped as Slack requires, so an event cannot mention @channel")
        let sales = try XCTUnwrap(requests.first { $0.path == "/services/T0E2E/B0SALES/sales-hook" })
        XCTAssertEqual(sales.json?["text"], "Ada Lovelace ordered 30.5 EUR")
        XCTAssertEqual(sales.json?["channel"], "#sales")
    }

    // MARK: Customer.io — Track API v1, Basic site id:API key

    func testCustomerIOReceivesPeopleEventsAndMerges() async throws {
        let harness = try await Self.shared.get()
        let user = "cio-user-1001", anon = "cio-anon-0001"
        try await harness.sendBatch(
            writeKey: E2EWorkspace.writeKey("customerio"),
            [
                SDKEvent.make(
                    "identify", messageId: "cio-identify", userId: user, anonymousId: anon, timestamp: Self.t1,
                    fields: ["traits": ["email": "ada@example.com", "plan": "pro", "createdAt": "2025-01-15T09:30:00Z"]]),
                SDKEvent.make(
                    "track", messageId: "cio-track", userId: user, anonymousId: anon, timestamp: Self.t1,
                    fields: ["event": "Signed Up", "properties": ["plan": "pro"]]),
                SDKEvent.make(
                    "page", messageId: "cio-page", userId: user, anonymousId: anon, timestamp: Self.t1,
                    fields: ["name": "Pricing", "properties": ["url": "https://example.com/pricing"]]),
                SDKEvent.make("screen", messageId: "cio-screen", userId: user, anonymousId: anon, timestamp: Self.t1, fields: ["name": "Home"]),
                SDKEvent.make("alias", messageId: "cio-alias", userId: user, timestamp: Self.t1, fields: ["previousId": "cio-old-1001"]),
                SDKEvent.make("track", messageId: "cio-anon", anonymousId: "cio-visitor-2", timestamp: Self.t1, fields: ["event": "Viewed Pricing"]),
                SDKEvent.make("group", messageId: "cio-group", userId: user, timestamp: Self.t1, fields: ["groupId": "acme-1"]),
            ])
        let requests = try await harness.waitForRequests("customerio") { Self.customerIOOperations($0).count >= 6 }
        XCTAssertTrue(requests.allSatisfy { $0.status == 200 }, "\(requests)")
        XCTAssertTrue(requests.allSatisfy { $0.authorization == Credentials.basic(Credentials.customerIOSite, Credentials.customerIOKey) })
        XCTAssertTrue(requests.allSatisfy { $0.headers["content-type"] == "application/json" })
        let operations = Self.customerIOOperations(requests)
        XCTAssertEqual(operations.count, 6, "group is not supported: \(requests)")

        let identify = try XCTUnwrap(operations.first { $0.action == "identify" })
        XCTAssertEqual(identify.id, user)
        XCTAssertEqual(identify.data?["email"], "ada@example.com")
        XCTAssertEqual(identify.data?["plan"], "pro")
        XCTAssertEqual(identify.data?["created_at"]?.intValue, 1_736_933_400, "Unix seconds")
        if identify.v1 {
            XCTAssertEqual(identify.data?["anonymous_id"], .string(anon), "merges the visitor's anonymous events")
        }
        let track = try XCTUnwrap(operations.first { $0.action == "event" && $0.id == user })
        XCTAssertEqual(track.name, "Signed Up")
        XCTAssertEqual(track.data?["plan"], "pro")
        XCTAssertEqual(track.timestamp, Self.t1Seconds)
        XCTAssertEqual(operations.first { $0.action == "page" }?.name, "https://example.com/pricing")
        XCTAssertEqual(operations.first { $0.action == "page" }?.id, .some(user))
        XCTAssertEqual(operations.first { $0.action == "screen" }?.name, "Home")

        let merge = try XCTUnwrap(operations.first { $0.action == "merge" })
        XCTAssertEqual(merge.body[path: "primary", "id"], .string(user))
        XCTAssertEqual(merge.body[path: "secondary", "id"], "cio-old-1001")

        let anonymous = try XCTUnwrap(operations.first { $0.action == "anonymous_event" })
        XCTAssertEqual(anonymous.body["anonymous_id"], "cio-visitor-2")
        XCTAssertEqual(anonymous.name, "Viewed Pricing")
    }

    /// One Customer.io operation, read from a Track API v1 request or an item of a v2 batch.
    struct CustomerIOOperation {
        var action: String
        var id: String?
        var name: String?
        var data: JSON?
        var timestamp: Int64?
        var body: JSON
        var v1: Bool
    }

    static func customerIOOperations(_ requests: [ReceivedRequest]) -> [CustomerIOOperation] {
        requests.flatMap { request -> [CustomerIOOperation] in
            let body = request.json ?? .null
            if request.path == "/api/v2/batch" {
                return (body["batch"]?.arrayValue ?? []).map { item in
                    CustomerIOOperation(
                        action: item["action"]?.stringValue ?? "", id: item[path: "identifiers", "id"]?.stringValue, name: item["name"]?.stringValue,
                        data: item["attributes"], timestamp: item["timestamp"]?.intValue, body: item, v1: false)
                }
            }
            let parts = request.path.split(separator: "/").map { String($0).removingPercentEncoding ?? String($0) }
            switch (request.method, parts.count) {
            case ("PUT", 4) where parts[2] == "customers":
                return [CustomerIOOperation(action: "identify", id: parts[3], data: body, body: body, v1: true)]
            case ("POST", 5) where parts[2] == "customers" && parts[4] == "events":
                return [
                    CustomerIOOperation(
                        action: body["type"]?.stringValue ?? "event", id: parts[3], name: body["name"]?.stringValue, data: body["data"],
                        timestamp: body["timestamp"]?.intValue, body: body, v1: true)
                ]
            case ("POST", 3) where parts[2] == "events":
                return [CustomerIOOperation(action: "anonymous_event", name: body["name"]?.stringValue, data: body["data"], body: body, v1: true)]
            case ("POST", 3) where parts[2] == "merge_customers":
                return [CustomerIOOperation(action: "merge", body: body, v1: true)]
            default:
                return [CustomerIOOperation(action: "unknown \(request.method) \(request.path)", body: body, v1: true)]
            }
        }
    }

    // MARK: GA4 — Measurement Protocol, measurement_id and api_secret in the query

    func testGA4ReceivesMeasurementProtocolEvents() async throws {
        let harness = try await Self.shared.get()
        let user = "ga-user-1001", anon = "ga-anon-0001"
        try await harness.sendBatch(
            writeKey: E2EWorkspace.writeKey("ga4"),
            [
                SDKEvent.make(
                    "identify", messageId: "ga-identify", userId: user, anonymousId: anon, timestamp: Self.t1,
                    fields: ["traits": ["email": "ada@example.com"]]),
                SDKEvent.make(
                    "track", messageId: "ga-click", userId: user, anonymousId: anon, timestamp: Self.t1,
                    fields: ["event": "Button Clicked", "properties": ["label": "Sign up"]]),
                SDKEvent.make(
                    "page", messageId: "ga-page", userId: user, anonymousId: anon, timestamp: Self.t1,
                    fields: ["name": "Pricing", "properties": ["url": "https://example.com/pricing", "title": "Pricing"]]),
                SDKEvent.make(
                    "track", messageId: "ga-order", userId: user, anonymousId: anon, timestamp: Self.t1,
                    fields: [
                        "event": "Order Completed",
                        "properties": ["order_id": "o-17", "total": 30.5, "currency": "EUR", "products": [["product_id": "sku-1", "name": "Mug", "price": 15.25, "quantity": 2]]],
                    ]),
            ])
        let requests = try await harness.waitForRequests("ga4") { $0.count >= 3 }
        XCTAssertEqual(requests.count, 3, "identify is not sent (GA4 has no identify call): \(requests)")
        XCTAssertTrue(requests.allSatisfy { $0.status == 204 && $0.method == "POST" && $0.path == "/mp/collect" })
        XCTAssertTrue(requests.allSatisfy { $0.query == ["measurement_id": Credentials.ga4Measurement, "api_secret": Credentials.ga4Secret] })
        let bodies = requests.compactMap(\.json)
        XCTAssertTrue(bodies.allSatisfy { $0["client_id"] == .string(anon) && $0["user_id"] == .string(user) })
        XCTAssertTrue(bodies.allSatisfy { $0["timestamp_micros"]?.intValue == Self.t1Millis * 1000 })
        let events = bodies.flatMap { $0["events"]?.arrayValue ?? [] }
        let click = try XCTUnwrap(events.first { $0["name"] == "button_clicked" })
        XCTAssertEqual(click[path: "params", "label"], "Sign up")
        let page = try XCTUnwrap(events.first { $0["name"] == "page_view" })
        XCTAssertEqual(page[path: "params", "page_location"], "https://example.com/pricing")
        XCTAssertEqual(page[path: "params", "page_title"], "Pricing")
        // The e-commerce spec's Order Completed is GA4's recommended `purchase` event.
        let purchase = try XCTUnwrap(events.first { $0["name"] == "purchase" })
        XCTAssertEqual(purchase[path: "params", "transaction_id"], "o-17")
        XCTAssertEqual(purchase[path: "params", "currency"], "EUR")
        XCTAssertEqual(purchase[path: "params", "value"]?.doubleValue, 30.5)
        XCTAssertEqual(purchase[path: "params", "items"]?[0]?["item_id"], "sku-1")
        XCTAssertEqual(purchase[path: "params", "items"]?[0]?["item_name"], "Mug")
        XCTAssertFalse(requests.contains { $0.bodyText.contains("ada@example.com") }, "no personal data in Analytics")
    }

    // MARK: Webhook — the event as sent, with the configured headers

    func testWebhookReceivesEveryMessageTypeWithTheGatewaysFields() async throws {
        let harness = try await Self.shared.get()
        let types = ["identify", "track", "page", "screen", "group", "alias"]
        let events = types.map { type in
            SDKEvent.make(
                type, messageId: "wh-\(type)", userId: "wh-user-1001", anonymousId: "wh-anon-0001", timestamp: Self.t1,
                fields: ["event": "Signed Up", "properties": ["plan": "pro"], "groupId": "acme-1", "previousId": "wh-old"])
        }
        try await harness.sendBatch(writeKey: E2EWorkspace.writeKey("webhook"), events)
        let requests = try await harness.waitForRequests("webhook") { $0.count >= 6 }
        XCTAssertEqual(requests.count, 6)
        XCTAssertTrue(requests.allSatisfy { $0.status == 200 && $0.method == "POST" && $0.path == "/events" })
        XCTAssertTrue(requests.allSatisfy { $0.headers["content-type"] == "application/json" })
        XCTAssertEqual(requests.compactMap { $0.json?["type"]?.stringValue }, types, "one user's events in the order sent")
        XCTAssertEqual(requests.compactMap { $0.json?["messageId"]?.stringValue }, types.map { "wh-\($0)" })
        for request in requests {
            XCTAssertNotNil(request.json?["receivedAt"]?.stringValue, "added by the gateway")
            XCTAssertEqual(request.json?["request_ip"], "127.0.0.1")
            XCTAssertEqual(request.json?["timestamp"], .string(Self.t1))
            XCTAssertEqual(request.json?[path: "properties", "plan"], "pro")
            XCTAssertEqual(request.json?[path: "context", "library", "name"], "analytics-python")
        }
    }

    // MARK: Intercom — data events with the access token and a pinned API version

    func testIntercomReceivesDataEvents() async throws {
        let harness = try await Self.shared.get()
        try await harness.sendBatch(
            writeKey: E2EWorkspace.writeKey("intercom"),
            [
                SDKEvent.make(
                    "track", messageId: "ic-track", userId: "ic-user-1001", timestamp: Self.t1,
                    fields: ["event": "Invited Teammate", "properties": ["invitee": "bob@example.com", "seats": 3, "admin": true]])
            ])
        let requests = try await harness.waitForRequests("intercom") { $0.contains { $0.path == "/events" } }
        let event = try XCTUnwrap(requests.first { $0.path == "/events" })
        XCTAssertEqual(event.status, 202, "Intercom accepts data events with 202")
        XCTAssertEqual(event.method, "POST")
        XCTAssertEqual(event.authorization, "Bearer " + Credentials.intercomToken)
        XCTAssertEqual(event.headers["intercom-version"], "2.11")
        XCTAssertEqual(event.headers["accept"], "application/json")
        XCTAssertEqual(event.json?["event_name"], "Invited Teammate")
        XCTAssertEqual(event.json?["user_id"], "ic-user-1001")
        XCTAssertEqual(event.json?["created_at"]?.intValue, Self.t1Seconds, "Unix seconds")
        XCTAssertEqual(event.json?[path: "metadata", "invitee"], "bob@example.com")
        XCTAssertEqual(event.json?[path: "metadata", "seats"]?.intValue, 3)
        XCTAssertEqual(requests.filter { $0.path == "/events" }.count, 1)
    }
}

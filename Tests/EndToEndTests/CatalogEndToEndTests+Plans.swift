import EventModel
import Foundation
import XCTest

/// Salesforce and Intercom identify/group: deliveries of several requests (multi-step plans)
/// whose later requests depend on earlier answers, checked against servers that keep state the
/// way the tools do (records, sessions, contacts, companies).
extension CatalogEndToEndTests {
    // MARK: Salesforce — OAuth 2.0 username-password flow, SOQL lookup, create or update

    func testSalesforceIdentifyCreatesOrUpdatesRecordsWithOneCachedToken() async throws {
        let harness = try await Self.shared.get()
        let writeKey = E2EWorkspace.writeKey("salesforce")
        try await harness.sendBatch(
            writeKey: writeKey,
            [
                // A new person: no Lead with this email yet → created.
                SDKEvent.make(
                    "identify", messageId: "sf-new", userId: "sf-user-1001", timestamp: Self.t1,
                    fields: [
                        "traits": [
                            "email": "ada@example.com", "firstName": "Ada", "lastName": "Lovelace", "company": "Analytical Engines",
                            "title": "CTO", "address": ["city": "London", "country": "UK"], "plan_tier": "pro",
                        ]
                    ]),
                // A known Lead (same email, any case) → updated by Id.
                SDKEvent.make(
                    "identify", messageId: "sf-known", userId: "sf-user-1002", timestamp: Self.t1,
                    fields: ["traits": ["email": "Grace@Example.com", "title": "Rear Admiral"]]),
                // An external id names the record: updated directly, no lookup.
                SDKEvent.make(
                    "identify", messageId: "sf-external", userId: "sf-user-1003", timestamp: Self.t1,
                    fields: ["traits": ["email": "alan@example.com", "title": "Cryptanalyst"]],
                    context: ["externalId": [["type": "Salesforce-Contact", "id": .string(SalesforceOrg.existingContactId)]]]),
                SDKEvent.make("track", messageId: "sf-track", userId: "sf-user-1001", timestamp: Self.t1, fields: ["event": "Signed Up"]),
            ])
        let leadsPath = "/services/data/v62.0/sobjects/Lead"
        var requests = try await harness.waitForRequests("salesforce") { received in
            received.contains { $0.method == "POST" && $0.path == leadsPath && $0.status == 201 }
                && received.contains { $0.method == "PATCH" && $0.path == leadsPath + "/" + SalesforceOrg.existingLeadId && $0.status == 204 }
                && received.contains { $0.method == "PATCH" && $0.path.hasSuffix("/sobjects/Contact/" + SalesforceOrg.existingContactId) }
        }
        XCTAssertTrue(requests.allSatisfy { (200..<300).contains($0.status) }, "\(requests)")

        // One token for all three deliveries (cached per destination), from the documented flow.
        let tokens = requests.filter { $0.path == "/services/oauth2/token" }
        XCTAssertEqual(tokens.count, 1, "\(requests)")
        XCTAssertEqual(tokens.first?.method, "POST")
        XCTAssertEqual(tokens.first?.form["grant_type"], "password")
        XCTAssertEqual(tokens.first?.form["password"], SalesforceOrg.password + SalesforceOrg.securityToken, "security token appended")
        let session = "Bearer 00D5e0000000001!session-1"
        for request in requests where request.path != "/services/oauth2/token" {
            XCTAssertEqual(request.authorization, session, "\(request): the token's access_token, on the token's instance_url")
        }

        // Lookups by email among unconverted Leads, then create (with LastName and Company, which
        // Lead requires) or update.
        let lookups = requests.filter { $0.path == "/services/data/v62.0/query" }
        XCTAssertEqual(lookups.count, 2, "no lookup for the record named by its external id")
        XCTAssertTrue(lookups.allSatisfy { $0.method == "GET" })
        XCTAssertEqual(
            Set(lookups.compactMap { $0.query["q"]?.lowercased() }),
            [
                "select id from lead where email = 'ada@example.com' and isconverted = false limit 1",
                "select id from lead where email = 'grace@example.com' and isconverted = false limit 1",
            ], "SOQL; Salesforce compares emails case-insensitively")
        let created = try XCTUnwrap(requests.first { $0.method == "POST" && $0.path == leadsPath }?.json)
        XCTAssertEqual(created["Email"], "ada@example.com")
        XCTAssertEqual(created["FirstName"], "Ada")
        XCTAssertEqual(created["LastName"], "Lovelace")
        XCTAssertEqual(created["Company"], "Analytical Engines")
        XCTAssertEqual(created["Title"], "CTO")
        XCTAssertEqual(created["City"], "London")
        XCTAssertEqual(created["Country"], "UK")
        XCTAssertEqual(
            created.objectValue?.first { $0.key.lowercased() == "plan_tier__c" }?.value, "pro", "a custom trait as a __c custom field")
        let updated = try XCTUnwrap(requests.first { $0.method == "PATCH" && $0.path.hasSuffix("/Lead/" + SalesforceOrg.existingLeadId) }?.json)
        XCTAssertEqual(updated["Title"], "Rear Admiral")
        XCTAssertNil(updated["LastName"], "an update does not overwrite the name with a placeholder")
        let contact = try XCTUnwrap(requests.first { $0.path.hasSuffix("/sobjects/Contact/" + SalesforceOrg.existingContactId) }?.json)
        XCTAssertEqual(contact["Title"], "Cryptanalyst")
        XCTAssertEqual(harness.plans.salesforce.withLock { $0.records["Lead"]?.count }, 2, "one Lead created, the known one updated")
        XCTAssertFalse(requests.contains { $0.bodyText.contains("Signed Up") }, "track is not sent to Salesforce")

        // The session expires: the next delivery's lookup answers 401, the token is fetched again
        // once and the delivery completes.
        harness.plans.revokeSalesforceSessions()
        try await harness.sendBatch(
            writeKey: writeKey,
            [
                SDKEvent.make(
                    "identify", messageId: "sf-after-expiry", userId: "sf-user-1004", timestamp: Self.t1,
                    fields: ["traits": ["email": "katherine@example.com", "lastName": "Johnson", "company": "NASA"]])
            ])
        requests = try await harness.waitForRequests("salesforce") { received in
            received.contains { $0.method == "POST" && $0.path == leadsPath && $0.json?["Email"] == "katherine@example.com" }
        }
        let afterExpiry = Array(requests.dropFirst(requests.firstIndex { $0.status == 401 } ?? requests.count))
        XCTAssertEqual(
            afterExpiry.map { "\($0.status) \($0.method) \($0.path)" },
            [
                "401 GET /services/data/v62.0/query", "200 POST /services/oauth2/token", "200 GET /services/data/v62.0/query",
                "201 POST \(leadsPath)",
            ])
        XCTAssertEqual(afterExpiry.last?.authorization, "Bearer 00D5e0000000001!session-2")
    }

    // MARK: Intercom — contacts by external_id, companies, attachments

    func testIntercomIdentifyAndGroupCreateUpdateAndAttach() async throws {
        let harness = try await Self.shared.get()
        let existing = IntercomWorkspace.existingExternalId
        try await harness.sendBatch(
            writeKey: E2EWorkspace.writeKey("intercom"),
            [
                // Unknown external_id → contact created.
                SDKEvent.make(
                    "identify", messageId: "ic-new", userId: "ic-user-2002", timestamp: Self.t1,
                    fields: ["traits": ["email": "ada@example.com", "name": "Ada Lovelace", "plan": "pro"]]),
                // Known external_id → that contact updated.
                SDKEvent.make(
                    "identify", messageId: "ic-known", userId: .some(existing), timestamp: Self.t1,
                    fields: ["traits": ["email": "grace@example.com", "name": "Grace Hopper"]]),
                // Then the same user joins a company: company upserted, contact attached.
                SDKEvent.make(
                    "group", messageId: "ic-group", userId: .some(existing), timestamp: Self.t1,
                    fields: ["groupId": "acme-1", "traits": ["name": "Acme", "plan": "enterprise", "employees": 120]]),
            ])
        let requests = try await harness.waitForRequests("intercom") { received in
            received.contains { $0.path.hasSuffix("/companies") && $0.path.hasPrefix("/contacts/") }
                && received.contains { $0.method == "POST" && $0.path == "/contacts" }
                && received.filter { $0.method == "PUT" }.count >= 1
        }
        let planRequests = requests.filter { $0.path != "/events" }
        XCTAssertTrue(planRequests.allSatisfy { $0.status == 200 }, "\(planRequests)")
        XCTAssertTrue(planRequests.allSatisfy { $0.authorization == "Bearer " + Credentials.intercomToken })
        XCTAssertTrue(planRequests.allSatisfy { $0.headers["intercom-version"] == "2.11" })

        // Contacts are found by external_id with the search API.
        let searches = planRequests.filter { $0.path == "/contacts/search" }
        XCTAssertTrue(searches.allSatisfy { $0.method == "POST" })
        let searchedIds = Set(searches.compactMap { Self.searchedExternalId($0.json?["query"]) })
        XCTAssertEqual(searchedIds, ["ic-user-2002", existing])

        let created = try XCTUnwrap(planRequests.first { $0.method == "POST" && $0.path == "/contacts" }?.json)
        XCTAssertEqual(created["role"], "user")
        XCTAssertEqual(created["external_id"], "ic-user-2002")
        XCTAssertEqual(created["email"], "ada@example.com")
        XCTAssertEqual(created["name"], "Ada Lovelace")
        XCTAssertEqual(created[path: "custom_attributes", "plan"], "pro")
        let update = try XCTUnwrap(planRequests.first { $0.method == "PUT" })
        XCTAssertEqual(update.path, "/contacts/\(IntercomWorkspace.existingContactId)", "the id the search answered")
        XCTAssertEqual(update.json?["name"], "Grace Hopper")
        XCTAssertEqual(update.json?["email"], "grace@example.com")

        let company = try XCTUnwrap(planRequests.first { $0.method == "POST" && $0.path == "/companies" }?.json)
        XCTAssertEqual(company["company_id"], "acme-1")
        XCTAssertEqual(company["name"], "Acme")
        XCTAssertEqual(company["plan"], "enterprise")
        XCTAssertEqual(company["size"]?.intValue, 120)
        let state = harness.plans.intercom.withLock { $0 }
        let companyId = try XCTUnwrap(state.companies.values.first { $0["company_id"] == "acme-1" }?["id"]?.stringValue)
        let attach = try XCTUnwrap(planRequests.first { $0.path.hasPrefix("/contacts/") && $0.path.hasSuffix("/companies") })
        XCTAssertEqual(attach.method, "POST")
        XCTAssertEqual(attach.path, "/contacts/\(IntercomWorkspace.existingContactId)/companies")
        XCTAssertEqual(attach.json?["id"]?.stringValue, companyId, "the company's Intercom id from the upsert's answer")

        // The workspace now holds what the user would expect to see in Intercom.
        XCTAssertEqual(state.contacts.values.filter { $0["external_id"] == "ic-user-2002" }.count, 1)
        XCTAssertEqual(state.contacts[IntercomWorkspace.existingContactId]?["name"], "Grace Hopper")
        XCTAssertEqual(state.attachments.map { "\($0.0)→\($0.1)" }, ["\(IntercomWorkspace.existingContactId)→\(companyId)"])
    }

    /// The external_id a search query looks for (a single condition or inside AND/OR).
    static func searchedExternalId(_ query: JSON?) -> String? {
        guard let query else { return nil }
        if query["field"] == "external_id" { return query["value"]?.stringValue }
        return query["value"]?.arrayValue?.lazy.compactMap { searchedExternalId($0) }.first
    }
}

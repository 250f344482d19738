import Destinations
import EventModel
import Foundation
import KafkaTransport
import RouterService
import Synchronization
import XCTest

/// Multi-step delivery through real parts: events mapped by the registry's Salesforce and
/// Intercom mappings (the processor's function) into plan jobs on `keel.deliver.<type>` of a mock
/// cluster, the router, Postgres for failed events, and local servers behaving like Salesforce's
/// and Intercom's documented REST APIs.
final class PlanDeliveryTests: XCTestCase {
    static let clientSecret = "sf-client-secret-9f2"
    static let password = "pw-7c1"
    static let securityToken = "SECTOKEN42"

    func salesforceConfig(_ salesforce: FakeSalesforce) -> JSON {
        [
            "clientId": "3MVG9-keel", "clientSecret": .string(Self.clientSecret), "username": "api@acme.com",
            "password": .string(Self.password), "securityToken": .string(Self.securityToken), "loginURL": .string(salesforce.baseURL),
        ]
    }

    func startSalesforce() async throws -> FakeSalesforce {
        try await FakeSalesforce.start(
            clientId: "3MVG9-keel", clientSecret: Self.clientSecret, username: "api@acme.com", password: Self.password + Self.securityToken)
    }

    /// The jobs the processor would write for `events` (mapping through the registry).
    func jobs(type: String, destination: String, config: JSON, _ events: [JSON]) throws -> [OutgoingMessage] {
        let definition = try XCTUnwrap(DestinationRegistry.standard.definition(forType: type))
        XCTAssertEqual(definition.validate(config: config), [])
        let mapper = try definition.makeMapper(config)
        return try events.map { event in
            guard case .plan(let plan) = definition.transform(event, with: mapper) else {
                XCTFail("\(type) did not plan \(event)")
                throw CancellationError()
            }
            let job = Destinations.DeliveryJob(
                workspaceId: "acme", sourceId: "web", destinationId: destination, destinationType: type,
                messageId: event["messageId"]?.stringValue ?? "", userKey: event.userKey, eventType: event["type"]?.stringValue ?? "",
                eventName: "", receivedAt: Timestamp.now().rfc3339, requests: [], plan: plan)
            return OutgoingMessage(topic: "keel.deliver.\(type)", key: Array(job.key.utf8), value: job.serialized())
        }
    }

    func identify(_ user: String, _ traits: JSON, messageId: String? = nil) -> JSON {
        ["type": "identify", "messageId": .string(messageId ?? "m-\(user)-\(UUID().uuidString)"), "userId": .string(user), "context": ["traits": traits]]
    }

    func testSalesforceIdentifyCreatesOrUpdatesLeadsWithOneTokenThenRefreshesAfter401() async throws {
        let harness = try await RouterHarness.make()
        defer { Task { await harness.shutdown() } }
        let salesforce = try await startSalesforce()
        defer { Task { await salesforce.stop() } }
        try harness.cluster.createTopic("keel.deliver.salesforce", partitions: 2)
        let grace = salesforce.seed("Lead", ["Email": "grace@example.com", "LastName": "Hopper", "Company": "Navy"])

        var events = (0..<20).map { identify("user-\($0)", ["email": .string("u\($0)@example.com"), "firstName": "Ada", "lastName": .string("L\($0)")]) }
        events.append(identify("user-grace", ["email": "grace@example.com", "title": "Rear Admiral"]))
        let running = try harness.startRouter()
        defer { Task { await running.kill() } }
        try await harness.produce(try jobs(type: "salesforce", destination: "salesforce-prod", config: salesforceConfig(salesforce), events))
        try await harness.waitUntil("20 leads created and Grace's updated") {
            salesforce.records.count == 21 && salesforce.records[grace]?.fields["Title"] == "Rear Admiral"
        }
        try await Task.sleep(for: .milliseconds(200))

        XCTAssertEqual(salesforce.tokensIssued, 1, "one token for 21 events")
        let tokenRequests = salesforce.received().filter { $0.path == "/services/oauth2/token" }
        XCTAssertEqual(tokenRequests.count, 1)
        XCTAssertEqual(tokenRequests.first?.form["grant_type"], "password")
        XCTAssertEqual(tokenRequests.first?.form["password"], Self.password + Self.securityToken, "security token appended")
        let created = salesforce.records.values.first { $0.fields["Email"] == "u7@example.com" }
        XCTAssertEqual(created?.object, "Lead")
        XCTAssertEqual(created?.fields["FirstName"], "Ada")
        XCTAssertEqual(created?.fields["LastName"], "L7")
        XCTAssertEqual(created?.fields["Company"], "n/a", "Lead's required Company defaults on create")
        XCTAssertEqual(salesforce.records[grace]?.fields["LastName"], "Hopper", "an update keeps fields it does not send")
        let writes = salesforce.received().filter { $0.path.contains("/sobjects/Lead") }
        XCTAssertEqual(writes.filter { $0.method == "POST" }.count, 20)
        XCTAssertEqual(writes.filter { $0.method == "PATCH" }.map(\.path), ["/services/data/v62.0/sobjects/Lead/\(grace)"])
        XCTAssertTrue(salesforce.received().filter { $0.path != "/services/oauth2/token" }.allSatisfy { $0.header("authorization") == "Bearer 00DTEST!AQ.access-token-1" })

        // The session expires: the next lookup answers 401, the token is fetched again, and the plan runs once more.
        salesforce.expireTokens()
        let before = salesforce.received().count
        try await harness.produce(try jobs(type: "salesforce", destination: "salesforce-prod", config: salesforceConfig(salesforce), [
            identify("user-3", ["email": "u3@example.com", "phone": "+44 20 7946 0000"])
        ]))
        try await harness.waitUntil("u3's lead updated with the new token") {
            salesforce.records.values.contains { $0.fields["Email"] == "u3@example.com" && $0.fields["Phone"] == "+44 20 7946 0000" }
        }
        let after = Array(salesforce.received().dropFirst(before))
        XCTAssertEqual(salesforce.tokensIssued, 2)
        XCTAssertEqual(after.map { "\($0.status) \($0.method) \($0.path.split(separator: "/").suffix(2).joined(separator: "/"))" }, [
            "401 GET v62.0/query", "200 POST oauth2/token", "200 GET v62.0/query", "204 PATCH Lead/\(salesforce.records.first { $0.value.fields["Email"] == "u3@example.com" }!.key)",
        ])
        XCTAssertEqual(salesforce.records.count, 21, "updated, not created again")
        let failed = try await harness.failedEvents.list(.init(destinationId: "salesforce-prod"))
        XCTAssertEqual(failed.count, 0)
    }

    func testSalesforceWriteAnswering503RetriesThePlanThenDelivers() async throws {
        let harness = try await RouterHarness.make()
        defer { Task { await harness.shutdown() } }
        let salesforce = try await startSalesforce()
        defer { Task { await salesforce.stop() } }
        try harness.cluster.createTopic("keel.deliver.salesforce", partitions: 1)
        salesforce.failWrites(status: 503, retryAfter: "1", count: 2)

        let running = try harness.startRouter()
        defer { Task { await running.kill() } }
        try await harness.produce(try jobs(type: "salesforce", destination: "salesforce-prod", config: salesforceConfig(salesforce), [
            identify("user-1", ["email": "ada@example.com", "lastName": "Lovelace", "company": "Analytical Engines"])
        ]))
        try await harness.waitUntil("the lead created after two 503s") { salesforce.records.count == 1 }
        try await Task.sleep(for: .milliseconds(300))

        let creates = salesforce.received().filter { $0.method == "POST" && $0.path.hasSuffix("/sobjects/Lead") }
        XCTAssertEqual(creates.map(\.status), [503, 503, 201], "the whole plan retried until the write succeeded")
        XCTAssertGreaterThanOrEqual(creates[1].at - creates[0].at, .milliseconds(950), "Retry-After: 1 honoured")
        XCTAssertEqual(salesforce.received().filter { $0.path.hasSuffix("/query") }.count, 3, "the lookup runs again with each attempt")
        XCTAssertEqual(salesforce.tokensIssued, 1, "the retries reuse the cached token")
        XCTAssertEqual(salesforce.records.values.first?.fields["Company"], "Analytical Engines")
        let failed = try await harness.failedEvents.list(.init(destinationId: "salesforce-prod"))
        XCTAssertEqual(failed.count, 0)
    }

    func testSalesforce400GoesToFailedEventsWithoutSecretsAndReplayDelivers() async throws {
        let harness = try await RouterHarness.make()
        defer { Task { await harness.shutdown() } }
        let salesforce = try await startSalesforce()
        defer { Task { await salesforce.stop() } }
        try harness.cluster.createTopic("keel.deliver.salesforce", partitions: 1)

        let running = try harness.startRouter()
        defer { Task { await running.kill() } }
        // plan_tier__c does not exist in the org yet: Salesforce answers 400 INVALID_FIELD.
        try await harness.produce(try jobs(type: "salesforce", destination: "salesforce-prod", config: salesforceConfig(salesforce), [
            identify("user-1", ["email": "ada@example.com", "plan_tier": "pro"], messageId: "m-tier")
        ]))
        try await harness.waitUntil("the 400 recorded as a failed event") {
            try await harness.failedEvents.list(.init(destinationId: "salesforce-prod")).count == 1
        }
        let failedList = try await harness.failedEvents.list(.init(destinationId: "salesforce-prod"))
        let failed = try XCTUnwrap(failedList.first)
        XCTAssertEqual(failed.messageId, "m-tier")
        XCTAssertEqual(failed.statusCode, 400)
        XCTAssertEqual(failed.attempts, 1, "a 400 is not retried")
        XCTAssertEqual(failed.reason, "plan step create: HTTP 400")
        XCTAssertTrue(failed.responseExcerpt?.contains("INVALID_FIELD") == true, failed.responseExcerpt ?? "")
        let shown = failed.reason + (failed.responseExcerpt ?? "") + failed.json.jsonString
        for secret in ["access-token", Self.clientSecret, Self.password, Self.securityToken] {
            XCTAssertFalse(shown.contains(secret), "failed event shows \(secret)")
        }
        XCTAssertEqual(salesforce.records.count, 0)

        // The admin creates the custom field; the replay runs the whole plan again, same messageId.
        salesforce.createCustomField("plan_tier__c")
        let replayed = try await harness.failedEvents.replay(.init(ids: [failed.id]))
        XCTAssertEqual(replayed, 1)
        try await harness.waitUntil("the replayed lead created") { salesforce.records.count == 1 }
        XCTAssertEqual(salesforce.records.values.first?.fields["plan_tier__c"], "pro")
        XCTAssertEqual(salesforce.tokensIssued, 1)
    }

    /// One user's plan jobs keep their order through 503 retries and parking (two in memory per
    /// user, the rest parked in Postgres and loaded back in order).
    func testOneUsersPlansStayInOrderThroughRetriesAndParking() async throws {
        let harness = try await RouterHarness.make()
        defer { Task { await harness.shutdown() } }
        let salesforce = try await startSalesforce()
        defer { Task { await salesforce.stop() } }
        try harness.cluster.createTopic("keel.deliver.salesforce", partitions: 1)
        salesforce.failWrites(status: 503, count: 3)

        let running = try harness.startRouter(limits: .init(maxQueuedPerKey: 2))
        defer { Task { await running.kill() } }
        let titles = (0..<10).map { "title-\($0)" }
        try await harness.produce(try jobs(type: "salesforce", destination: "salesforce-prod", config: salesforceConfig(salesforce), titles.map {
            identify("user-1", ["email": "ada@example.com", "lastName": "Lovelace", "title": .string($0)])
        }))
        var parkedSeen = 0
        try await harness.waitUntil("the last title written") {
            parkedSeen = max(parkedSeen, try await harness.parkedRowCount(destination: "salesforce-prod"))
            return salesforce.records.values.first?.fields["Title"] == "title-9"
        }
        try await Task.sleep(for: .milliseconds(300))

        XCTAssertGreaterThan(parkedSeen, 0, "later jobs of the user were parked")
        let writes = salesforce.received().filter { $0.path.contains("/sobjects/Lead") }
        XCTAssertEqual(writes.prefix(3).map(\.status), [503, 503, 503])
        let accepted = writes.filter { $0.status == 201 || $0.status == 204 }
        XCTAssertEqual(accepted.map { $0.json["Title"]?.stringValue ?? "" }, titles, "each job once, in order")
        XCTAssertEqual(accepted.map(\.method), ["POST"] + Array(repeating: "PATCH", count: 9), "created once, then updated")
        XCTAssertEqual(salesforce.records.count, 1)
        XCTAssertEqual(salesforce.tokensIssued, 1)
        let parkedLeft = try await harness.parkedRowCount(destination: "salesforce-prod")
        XCTAssertEqual(parkedLeft, 0)
    }

    /// A reference to a value the earlier answers do not have fails the job, naming the reference.
    func testAMissingReferenceFailsNamingIt() async throws {
        let harness = try await RouterHarness.make()
        defer { Task { await harness.shutdown() } }
        let plan = DeliveryPlan(steps: [
            DeliveryPlan.Step(name: "ping", request: DestinationRequest(method: .post, url: harness.sink.url("ping"), body: .json(["messageId": "m-ref"]))),
            DeliveryPlan.Step(name: "write", request: DestinationRequest(method: .post, url: "{{ping.id}}", body: .json(["messageId": "m-ref"]))),
        ])
        let job = Destinations.DeliveryJob(
            workspaceId: "acme", sourceId: "web", destinationId: "planned", destinationType: "webhook", messageId: "m-ref", userKey: "u1",
            eventType: "track", eventName: "x", receivedAt: Timestamp.now().rfc3339, requests: [], plan: plan)
        let running = try harness.startRouter()
        defer { Task { await running.kill() } }
        try await harness.produce([OutgoingMessage(topic: RouterHarness.topic, key: Array(job.key.utf8), value: job.serialized())])
        try await harness.waitUntil("the failed event") { try await harness.failedEvents.list(.init(destinationId: "planned")).count == 1 }
        let failedList = try await harness.failedEvents.list(.init(destinationId: "planned"))
        let failed = try XCTUnwrap(failedList.first)
        XCTAssertEqual(failed.errorKind, "invalidJob")
        XCTAssertEqual(failed.reason, "plan step write: plan reference {{ping.id}} has no value in the answers so far")
        XCTAssertEqual(harness.sink.received("ping").count, 1)
    }

    func testIntercomIdentifyAndGroupSearchCreateUpdateAndAttach() async throws {
        let harness = try await RouterHarness.make()
        defer { Task { await harness.shutdown() } }
        let intercom = try await FakeIntercom.start(token: "ic-secret-token-123")
        defer { Task { await intercom.stop() } }
        try harness.cluster.createTopic("keel.deliver.intercom", partitions: 2)
        let grace = intercom.seedContact(["role": "user", "external_id": "user-2", "email": "old@example.com"])

        let config: JSON = ["accessToken": "ic-secret-token-123", "endpoint": .string(intercom.baseURL)]
        let events: [JSON] = [
            identify("user-1", ["email": "ada@example.com", "firstName": "Ada", "lastName": "Lovelace"]),
            identify("user-2", ["email": "grace@example.com", "name": "Grace Hopper"]),
            ["type": "group", "messageId": "g-1", "userId": "user-1", "groupId": "acme-1", "traits": ["name": "Acme", "plan": "pro", "employees": 120]],
            ["type": "group", "messageId": "g-3", "userId": "user-3", "groupId": "acme-1", "traits": ["name": "Acme"]],
        ]
        let running = try harness.startRouter()
        defer { Task { await running.kill() } }
        try await harness.produce(try jobs(type: "intercom", destination: "intercom-prod", config: config, events))
        try await harness.waitUntil("contacts created, updated and attached") {
            let state = intercom.snapshot
            return state.attachments.count == 2 && state.contacts.count == 3
                && state.contacts[grace]?["email"] == "grace@example.com"
        }
        try await Task.sleep(for: .milliseconds(200))

        let state = intercom.snapshot
        let ada = try XCTUnwrap(state.contacts.values.first { $0["external_id"] == "user-1" })
        XCTAssertEqual(ada["email"], "ada@example.com")
        XCTAssertEqual(ada["name"], "Ada Lovelace")
        XCTAssertEqual(state.contacts[grace]?["name"], "Grace Hopper", "user-2 updated in place (PUT), not created again")
        XCTAssertEqual(state.companies.count, 1)
        let company = try XCTUnwrap(state.companies.values.first)
        XCTAssertEqual(company["company_id"], "acme-1")
        XCTAssertEqual(company["plan"], "pro")
        XCTAssertEqual(company["size"]?.intValue, 120)
        let companyId = try XCTUnwrap(company["id"]?.stringValue)
        let user3 = try XCTUnwrap(state.contacts.values.first { $0["external_id"] == "user-3" }?["id"]?.stringValue, "group created the missing contact")
        XCTAssertEqual(state.attachments[ada["id"]?.stringValue ?? ""], [companyId])
        XCTAssertEqual(state.attachments[user3], [companyId])

        let received = intercom.received()
        XCTAssertTrue(received.allSatisfy { $0.status == 200 }, "\(received)")
        XCTAssertTrue(received.allSatisfy { $0.header("intercom-version") == "2.11" })
        XCTAssertEqual(received.filter { $0.method == "PUT" }.map(\.path), ["/contacts/\(grace)"])
        let failed = try await harness.failedEvents.list(.init(destinationId: "intercom-prod"))
        XCTAssertEqual(failed.count, 0)
    }
}

/// Failure texts of a plan never show what it sent as credentials or what a cached step answered.
final class PlanSecretMaskingTests: XCTestCase {
    func testATokenEchoedInAnErrorAnswerIsMaskedInTheFailedEvent() async throws {
        let harness = try await RouterHarness.make()
        defer { Task { await harness.shutdown() } }
        // A tool that answers its token endpoint, then rejects the write quoting the header it got.
        let tool = try await FakeHTTPServer.start { request in
            if request.path == "/token" { return (200, [:], ["access_token": "tok-SECRET-abcdef123", "expires_in": 3600]) }
            return (400, [:], ["error": .string("bad request with \(request.header("authorization") ?? "") and key \(request.header("x-api-key") ?? "")")])
        }
        defer { Task { await tool.stop() } }
        let plan = DeliveryPlan(
            steps: [
                DeliveryPlan.Step(
                    name: "token", request: DestinationRequest(method: .post, url: tool.baseURL + "/token", body: .form([("client_secret", "cs-hush-991")])),
                    cacheSeconds: 60),
                DeliveryPlan.Step(
                    name: "write",
                    request: DestinationRequest(
                        method: .post, url: tool.baseURL + "/write",
                        headers: [("Authorization", "Bearer {{token.access_token}}"), ("X-Api-Key", "key-hush-442")], body: .json(["a": 1]))),
            ], refreshOn401: "token")
        let job = Destinations.DeliveryJob(
            workspaceId: "acme", sourceId: "web", destinationId: "masked", destinationType: "webhook", messageId: "m-mask", userKey: "u1",
            eventType: "identify", eventName: "", receivedAt: Timestamp.now().rfc3339, requests: [], plan: plan)
        let running = try harness.startRouter()
        defer { Task { await running.kill() } }
        try await harness.produce([OutgoingMessage(topic: RouterHarness.topic, key: Array(job.key.utf8), value: job.serialized())])
        try await harness.waitUntil("the failed event") { try await harness.failedEvents.list(.init(destinationId: "masked")).count == 1 }
        let failedList = try await harness.failedEvents.list(.init(destinationId: "masked"))
        let failed = try XCTUnwrap(failedList.first)
        XCTAssertEqual(failed.reason, "plan step write: HTTP 400")
        let excerpt = try XCTUnwrap(failed.responseExcerpt)
        XCTAssertTrue(tool.received().last?.rawBody.contains("\"a\":1") == true)
        XCTAssertTrue(excerpt.contains("bad request with **** and key ****"), excerpt)
        for secret in ["tok-SECRET-abcdef123", "key-hush-442", "cs-hush-991"] {
            XCTAssertFalse(excerpt.contains(secret), "excerpt shows \(secret): \(excerpt)")
        }
    }
}

/// The token cache: one fetch for concurrent misses, expiry, a bound on entries, and a 401 dropping
/// only the answer that was used.
final class PlanAnswerCacheTests: XCTestCase {
    func key(_ destination: String, _ request: String = "r") -> PlanAnswerCache.Key {
        PlanAnswerCache.Key(destinationId: destination, step: "token", request: request)
    }

    func testConcurrentMissesShareOneFetchAndFailuresAreNotCached() async throws {
        let cache = PlanAnswerCache()
        let fetches = Counter()
        let shared = key("d1")
        let answers = await withTaskGroup(of: String?.self) { group in
            for _ in 0..<20 {
                group.addTask {
                    let outcome = await cache.answer(for: shared, ttl: .seconds(60)) {
                        fetches.value.withLock { $0 += 1 }
                        try? await Task.sleep(for: .milliseconds(100))
                        return .success(["access_token": "t1"])
                    }
                    return try? outcome.get().answer["access_token"]?.stringValue
                }
            }
            return await group.reduce(into: []) { $0.append($1) }
        }
        XCTAssertEqual(fetches.value.withLock { $0 }, 1)
        XCTAssertEqual(answers, Array(repeating: "t1", count: 20))

        let failure = DeliveryFailure(kind: .status, statusCode: 503, reason: "HTTP 503", retryable: true)
        let failed = await cache.answer(for: key("d2"), ttl: .seconds(60)) { .failure(failure) }
        XCTAssertThrowsError(try failed.get())
        let retried = await cache.answer(for: key("d2"), ttl: .seconds(60)) { .success(["access_token": "t2"]) }
        XCTAssertEqual(try retried.get().answer["access_token"], "t2", "a failed fetch is not cached")
    }

    func testAnswersExpireAreBoundedAndA401DropsOnlyTheUsedOne() async throws {
        let cache = PlanAnswerCache(capacity: 3)
        _ = await cache.answer(for: key("short"), ttl: .milliseconds(50)) { .success("a") }
        try await Task.sleep(for: .milliseconds(80))
        let again = await cache.answer(for: key("short"), ttl: .seconds(60)) { .success("b") }
        XCTAssertEqual(try again.get().answer, "b", "expired answers are fetched again")

        for index in 0..<10 { _ = await cache.answer(for: key("d\(index)"), ttl: .seconds(60)) { .success(.int(Int64(index))) } }
        XCTAssertLessThanOrEqual(cache.count, 3)
        let newest = await cache.answer(for: key("d9"), ttl: .seconds(60)) { .success("refetched") }
        XCTAssertEqual(try newest.get().answer, 9, "the newest answers stay")

        let used = try await cache.answer(for: key("x"), ttl: .seconds(60)) { .success("old") }.get()
        cache.invalidate(key("x"), generation: used.generation)
        let refreshed = try await cache.answer(for: key("x"), ttl: .seconds(60)) { .success("new") }.get()
        XCTAssertEqual(refreshed.answer, "new")
        cache.invalidate(key("x"), generation: used.generation)
        let kept = try await cache.answer(for: key("x"), ttl: .seconds(60)) { .success("newer") }.get()
        XCTAssertEqual(kept.answer, "new", "a stale 401 does not drop a newer token")
    }
}

final class Counter: Sendable {
    let value = Mutex(0)
}

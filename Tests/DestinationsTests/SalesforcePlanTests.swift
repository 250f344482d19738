import Destinations
import EventModel
import XCTest

/// Salesforce identify builds a token → lookup → create-or-update plan; resolving it against the
/// answers Salesforce's REST API documents gives the documented requests.
final class SalesforcePlanTests: XCTestCase {
    let config: JSON = [
        "clientId": "3MVG9-client", "clientSecret": "client-secret", "username": "api@acme.com", "password": "pw",
        "securityToken": "TOKEN",
    ]
    let tokenAnswer: JSON = [
        "access_token": "00Dxx0000001gPL!AR8AQ", "instance_url": "https://acme.my.salesforce.com", "token_type": "Bearer",
    ]
    let event: JSON = [
        "type": "identify", "userId": "user-42",
        "context": ["traits": [
            "email": "o'neil@example.com", "name": "Ada King Lovelace", "title": "CTO", "company": ["name": "Acme"],
            "address": ["city": "London", "postalCode": "N1 9GU"], "plan tier": "pro", "tags": ["a"],
        ]],
    ]

    func plan(_ event: JSON, config: JSON? = nil) throws -> DeliveryPlan {
        let planner = try SalesforcePlanner(config: config ?? self.config)
        guard case .plan(let plan) = planner.plan(event) else { XCTFail("no plan"); throw CancellationError() }
        return plan
    }

    func testTokenThenLookupThenCreateWhenNoLeadHasTheEmail() throws {
        let plan = try plan(event)
        XCTAssertEqual(plan.steps.map(\.name), ["token", "lookup", "create", "update"])
        XCTAssertEqual(plan.refreshOn401, "token")

        let token = try XCTUnwrap(plan.resolve(0, answers: [:]).get())
        XCTAssertEqual(token.method, .post)
        XCTAssertEqual(token.url, "https://login.salesforce.com/services/oauth2/token")
        XCTAssertEqual(
            token.body,
            .form([
                ("grant_type", "password"), ("username", "api@acme.com"), ("password", "pwTOKEN"), ("client_id", "3MVG9-client"),
                ("client_secret", "client-secret"),
            ]))

        var answers = ["token": tokenAnswer]
        let lookup = try XCTUnwrap(plan.resolve(1, answers: answers).get())
        XCTAssertEqual(lookup.method, .get)
        XCTAssertEqual(
            lookup.url,
            "https://acme.my.salesforce.com/services/data/v62.0/query?q=SELECT%20Id%20FROM%20Lead%20WHERE%20Email%20%3D%20%27o%5C%27neil%40example.com%27%20AND%20IsConverted%20%3D%20false%20LIMIT%201"
        )
        XCTAssertEqual(lookup.header("Authorization"), "Bearer 00Dxx0000001gPL!AR8AQ")

        answers["lookup"] = ["totalSize": 0, "done": true, "records": []]
        let create = try XCTUnwrap(plan.resolve(2, answers: answers).get())
        XCTAssertEqual(create.method, .post)
        XCTAssertEqual(create.url, "https://acme.my.salesforce.com/services/data/v62.0/sobjects/Lead")
        XCTAssertEqual(
            create.body,
            .json([
                "Email": "o'neil@example.com", "Title": "CTO", "Company": "Acme", "City": "London", "PostalCode": "N1 9GU",
                "plan_tier__c": "pro", "FirstName": "Ada King", "LastName": "Lovelace",
            ]))
        XCTAssertNil(try plan.resolve(3, answers: answers).get(), "no update when the lookup found nothing")
    }

    func testUpdateTheFoundLeadWithoutDefaults() throws {
        let plan = try plan(["type": "identify", "userId": "u1", "traits": ["email": "ada@example.com", "phone": "+44 1"]])
        let answers: [String: JSON] = [
            "token": tokenAnswer, "lookup": ["totalSize": 1, "records": [["attributes": ["type": "Lead"], "Id": "00Q5g00000ABCdE"]]],
        ]
        XCTAssertNil(try plan.resolve(2, answers: answers).get(), "no create when the lookup found the lead")
        let update = try XCTUnwrap(plan.resolve(3, answers: answers).get())
        XCTAssertEqual(update.method, .patch)
        XCTAssertEqual(update.url, "https://acme.my.salesforce.com/services/data/v62.0/sobjects/Lead/00Q5g00000ABCdE")
        XCTAssertEqual(update.body, .json(["Email": "ada@example.com", "Phone": "+44 1"]), "no n/a defaults on update")
    }

    func testExternalIdUpdatesThatObjectDirectlyWithARefreshTokenFromASandbox() throws {
        let config: JSON = ["clientId": "c", "clientSecret": "s", "refreshToken": "5Aep861", "environment": "sandbox"]
        let event: JSON = [
            "type": "identify", "userId": "u1", "traits": ["firstName": "Ada"],
            "context": ["externalId": [["type": "Salesforce-Contact", "id": "0035g00000XYZ"]]],
        ]
        let plan = try plan(event, config: config)
        XCTAssertEqual(plan.steps.map(\.name), ["token", "update"])
        let token = try XCTUnwrap(plan.resolve(0, answers: [:]).get())
        XCTAssertEqual(token.url, "https://test.salesforce.com/services/oauth2/token")
        XCTAssertEqual(
            token.body, .form([("grant_type", "refresh_token"), ("refresh_token", "5Aep861"), ("client_id", "c"), ("client_secret", "s")]))
        let update = try XCTUnwrap(plan.resolve(1, answers: ["token": tokenAnswer]).get())
        XCTAssertEqual(update.url, "https://acme.my.salesforce.com/services/data/v62.0/sobjects/Contact/0035g00000XYZ")
        XCTAssertEqual(update.body, .json(["FirstName": "Ada"]))
    }

    func testAMissingAnswerFailsNamingTheReferenceOnly() throws {
        let plan = try plan(event)
        XCTAssertEqual(plan.resolve(1, answers: ["token": ["error": "invalid_grant"]]).salesforcePlanFailure?.reference, "token.instance_url")
    }

    func testIdentifyWithoutEmailOrExternalIdAbortsAndBadConfigNamesTheKey() throws {
        let planner = try SalesforcePlanner(config: config)
        XCTAssertEqual(
            planner.plan(["type": "identify", "userId": "u1"]),
            .abort(reason: "Salesforce identify needs an email trait or a Salesforce externalId"))
        XCTAssertEqual(planner.plan(["type": "track", "event": "x"]), .abort(reason: "message type track is not supported by Salesforce"))
        XCTAssertThrowsError(try SalesforcePlanner(config: ["clientId": "c", "clientSecret": "s"])) { error in
            XCTAssertEqual((error as? DestinationConfigError)?.key, "username")
        }
        XCTAssertThrowsError(try SalesforcePlanner(config: ["clientSecret": "s", "refreshToken": "r"])) { error in
            XCTAssertEqual((error as? DestinationConfigError)?.key, "clientId")
        }
    }

    /// The plan travels in the `DeliveryJob` (`"plan"` beside an empty `requests`) and reads back
    /// equal, so the router runs exactly what the mapping planned.
    func testThePlanRoundTripsThroughTheDeliveryJobEnvelope() throws {
        let definition = try XCTUnwrap(DestinationRegistry.standard.definition(forType: "salesforce"))
        guard case .plan(let plan) = definition.transform(event, with: try definition.makeMapper(config)) else {
            return XCTFail("salesforce did not plan identify")
        }
        XCTAssertEqual(try DeliveryPlan(json: plan.json), plan)
        let job = DeliveryJob(
            workspaceId: "w", sourceId: "s", destinationId: "sf", destinationType: "salesforce", messageId: "m1", userKey: "user-42",
            eventType: "identify", eventName: "", receivedAt: "2026-11-29T12:00:00.000Z", requests: [], plan: plan)
        let bytes = job.serialized()
        XCTAssertEqual(try JSON(parsing: bytes)["requests"], .array([]))
        XCTAssertEqual(try DeliveryJob(parsing: bytes), job)
        XCTAssertEqual(try DeliveryJob(parsing: bytes).plan?.steps.last?.when, DeliveryPlan.Condition(path: ["lookup", "totalSize"], equals: 0, negated: true))
    }

    func testAMalformedPlanIsRejectedNamingTheField() throws {
        let step: JSON = ["name": "a", "request": ["method": "GET", "url": "https://x.example.com", "headers": [:], "body": .null, "bodyFormat": "none"]]
        let cases: [(JSON, String)] = [
            (["steps": []], "plan has no steps"),
            (["steps": [step, step]], "plan steps[1].name is missing, repeated or has a dot"),
            (["steps": [["name": "a", "request": ["url": "x"]]]], "plan step a has a malformed request"),
            (["steps": [step], "refreshOn401": "token"], "plan refreshOn401 does not name a step"),
            (["steps": [["name": "a", "request": step["request"]!, "cacheSeconds": -1]]], "plan step a cacheSeconds is not a positive integer"),
        ]
        for (json, reason) in cases {
            XCTAssertThrowsError(try DeliveryPlan(json: json)) { error in XCTAssertEqual((error as? EnvelopeError)?.reason, reason) }
        }
    }
}

extension Result {
    var salesforcePlanFailure: Failure? {
        if case .failure(let error) = self { return error }
        return nil
    }
}

import Destinations
import EventModel
import XCTest

/// Intercom identify plans a contact search, then a create or an update, as Intercom's REST API
/// (2.x) documents them.
final class IntercomPlanTests: XCTestCase {
    let event: JSON = [
        "type": "identify", "userId": "user-42",
        "context": ["traits": [
            "email": "ada@example.com", "firstName": "Ada", "lastName": "Lovelace", "createdAt": "2025-01-15T09:30:00Z",
            "plan": "pro", "address": ["city": "London"],
        ]],
    ]

    func testSearchByExternalIdThenCreateOrUpdate() throws {
        guard case .plan(let plan) = try IntercomPlanner(config: ["accessToken": "ic-token"]).plan(event) else {
            return XCTFail("no plan")
        }
        XCTAssertEqual(plan.steps.map(\.name), ["search", "create", "update"])
        let search = try XCTUnwrap(plan.resolve(0, answers: [:]).get())
        XCTAssertEqual(search.url, "https://api.intercom.io/contacts/search")
        XCTAssertEqual(search.header("Authorization"), "Bearer ic-token")
        XCTAssertEqual(search.header("Intercom-Version"), "2.11")
        XCTAssertEqual(search.body, .json(["query": ["field": "external_id", "operator": "=", "value": "user-42"]]))

        let contact: JSON = [
            "role": "user", "external_id": "user-42", "email": "ada@example.com", "name": "Ada Lovelace",
            "signed_up_at": 1_736_933_400, "custom_attributes": ["plan": "pro"],
        ]
        let none: [String: JSON] = ["search": ["type": "list", "total_count": 0, "data": []]]
        let create = try XCTUnwrap(plan.resolve(1, answers: none).get())
        XCTAssertEqual(create.method, .post)
        XCTAssertEqual(create.url, "https://api.intercom.io/contacts")
        XCTAssertEqual(create.body, .json(contact))
        XCTAssertNil(try plan.resolve(2, answers: none).get())

        let found: [String: JSON] = ["search": ["type": "list", "total_count": 1, "data": [["type": "contact", "id": "65f1a2b3c4"]]]]
        XCTAssertNil(try plan.resolve(1, answers: found).get())
        let update = try XCTUnwrap(plan.resolve(2, answers: found).get())
        XCTAssertEqual(update.method, .put)
        XCTAssertEqual(update.url, "https://api.intercom.io/contacts/65f1a2b3c4")
        XCTAssertEqual(update.body, .json(contact))
    }

    func testWithoutUserIdTheEmailIsSearchedAndNeitherAborts() throws {
        let planner = try IntercomPlanner(config: ["accessToken": "ic-token", "region": "EU"])
        guard case .plan(let plan) = planner.plan(["type": "identify", "traits": ["email": "bob@example.com"]]) else {
            return XCTFail("no plan")
        }
        let search = try XCTUnwrap(plan.resolve(0, answers: [:]).get())
        XCTAssertEqual(search.url, "https://api.eu.intercom.io/contacts/search")
        XCTAssertEqual(search.body, .json(["query": ["field": "email", "operator": "=", "value": "bob@example.com"]]))
        XCTAssertEqual(
            planner.plan(["type": "identify", "anonymousId": "a1"]), .abort(reason: "Intercom identify needs a userId or an email trait"))
    }
}

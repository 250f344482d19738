import EventModel
import Hummingbird
import HummingbirdTesting
import NIOCore
import RouterService
import StorageTesting
import XCTest

/// The failed-events HTTP API: token required, filters, replay into the parked table.
final class FailedEventsAPITests: XCTestCase {
    func testTokenFiltersAndReplay() async throws {
        let testDatabase = try await TestDatabase.make(logger: RouterHarness.logger)
        let database = testDatabase.database
        let store = RouterStore(database: database, logger: RouterHarness.logger)
        try await store.migrate()
        for (index, status) in [400, 404, 400].enumerated() {
            let raw = JSON.object([
                "destinationId": "hub", "userKey": .string("u\(index)"), "messageId": .string("m\(index)"),
                "requests": [["method": "POST", "url": "http://127.0.0.1:1/x", "headers": ["Authorization": "Bearer top-secret"]]],
            ]).serialized()
            var job = ScheduledJob(
                job: try DeliveryJob(parsing: raw), origin: .kafka(PartitionRef(topic: "keel.deliver.webhook", partition: 0), offset: Int64(index)))
            job.attempts = 1
            try await store.recordFailure(
                job, DeliveryFailure(kind: .status, statusCode: status, reason: "HTTP \(status)", responseExcerpt: "no such user", retryable: false),
                firstAttemptMillis: nil)
        }

        let router = Hummingbird.Router()
        FailedEventsAPI(store: FailedEventStore(database: database, logger: RouterHarness.logger), token: "s3cret").addRoutes(to: router)
        let app = Application(router: router)
        try await app.test(.router) { client in
            try await client.execute(uri: "/v1/failed", method: .get) { XCTAssertEqual($0.status, .unauthorized) }
            try await client.execute(uri: "/v1/failed", method: .get, headers: [.authorization: "Bearer wrong"]) {
                XCTAssertEqual($0.status, .unauthorized)
            }
            let auth: HTTPFields = [.authorization: "Bearer s3cret"]
            try await client.execute(uri: "/v1/failed?status=400", method: .get, headers: auth) { response in
                XCTAssertEqual(response.status, .ok)
                let body = try JSON(parsing: Array(response.body.readableBytesView))
                XCTAssertEqual(body["count"], 2)
                XCTAssertEqual(Set(body["failed"]?.arrayValue?.compactMap { $0["messageId"]?.stringValue } ?? []), ["m0", "m2"])
                XCTAssertFalse(String(buffer: response.body).contains("top-secret"), "request headers never leave the API")
            }
            try await client.execute(uri: "/v1/failed?since=not-a-time", method: .get, headers: auth) { XCTAssertEqual($0.status, .badRequest) }
            try await client.execute(uri: "/v1/failed/replay", method: .post, headers: auth) {
                XCTAssertEqual($0.status, .badRequest, "no filter means no replay")
            }
            try await client.execute(uri: "/v1/failed/replay?status=404", method: .post, headers: auth) { response in
                XCTAssertEqual(try JSON(parsing: Array(response.body.readableBytesView))["replayed"], 1)
            }
        }
        let rows = try await database.client.query("SELECT user_key, origin FROM router.parked ORDER BY seq", logger: RouterHarness.logger)
        var parked: [String] = []
        for try await (user, origin) in rows.decode((String, String).self) { parked.append("\(user):\(origin)") }
        XCTAssertEqual(parked, ["u1:replay"], "the replayed event waits in the parked table for the router")
        try await testDatabase.drop()
    }
}

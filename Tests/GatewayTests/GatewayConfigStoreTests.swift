import EventModel
import GatewayService
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import Storage
import StorageTesting
import WorkspaceConfig
import XCTest

/// Write keys and source state from the real workspace store (Postgres, LISTEN/NOTIFY): changes
/// apply to a running gateway without a restart.
final class GatewayConfigStoreTests: XCTestCase {
    private static let v1 = """
        workspace: shop
        sources:
          - id: web
            name: Web shop
            writeKey: wk-pg-1
        settings:
          gateway:
            maxEventBytes: 2048
        """

    private static let v2 = """
        workspace: shop
        sources:
          - id: web
            name: Web shop
            writeKey: wk-pg-1
            enabled: false
          - id: app
            name: App
            writeKey: wk-pg-2
        """

    func testAppliedWorkspaceChangesReachTheRunningGateway() async throws {
        let logger = Logger(label: "gateway-config-tests")
        let test = try await TestDatabase.make(logger: logger)
        do {
            let repository = ConfigRepository(database: test.database)
            try await repository.migrate(logger: logger)
            _ = try await repository.apply(try WorkspaceParser().parse(yaml: Self.v1), logger: logger)
            let database = test.makeDatabase()
            let store = ConfigStore(database: database, configuration: .init(workspace: "shop"), logger: logger)
            let services = Task {
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask { try await database.run() }
                    group.addTask { try await store.run() }
                    try await group.next()
                    group.cancelAll()
                }
            }
            defer { services.cancel() }
            _ = try await store.waitForFirstLoad()

            let harness = try GatewayHarness()
            try await harness.run(sources: ConfigStoreSources(store: store)) { client in
                func track(_ key: String, padding: Int = 0) async throws -> HTTPResponse.Status {
                    try await client.execute(
                        uri: "/v1/track", method: .post, headers: Req.headers(writeKey: key),
                        body: Req.body(#"{"userId":"pg-user","p":"\#(String(repeating: "x", count: padding))"}"#)
                    ).status
                }
                let accepted = try await track("wk-pg-1")
                XCTAssertEqual(accepted, .ok)
                let unknown = try await track("wk-pg-2")
                XCTAssertEqual(unknown, .unauthorized)
                let overWorkspaceLimit = try await track("wk-pg-1", padding: 3000)
                XCTAssertEqual(overWorkspaceLimit, .contentTooLarge, "settings.gateway.maxEventBytes applies")
                let records = try await harness.records(atLeast: 1)
                XCTAssertEqual(records.first?.workspaceId, "shop")
                XCTAssertEqual(records.first?.sourceId, "web")

                _ = try await repository.apply(try WorkspaceParser().parse(yaml: Self.v2), logger: logger)
                let deadline = ContinuousClock.now + .seconds(10)
                var disabled = try await track("wk-pg-1")
                while disabled != .notFound, ContinuousClock.now < deadline {
                    try await Task.sleep(for: .milliseconds(50))
                    disabled = try await track("wk-pg-1")
                }
                XCTAssertEqual(disabled, .notFound, "the disabled source is refused without a restart")
                let added = try await track("wk-pg-2")
                XCTAssertEqual(added, .ok, "the new source's key works without a restart")
            }
        } catch {
            try await test.drop()
            throw error
        }
        try await test.drop()
    }
}

import Foundation
import Transformations
import WorkspaceConfig
import XCTest

/// The workspace `deploy/local/up` applies is valid, and its webhook's transformation does what
/// the file says.
final class LocalWorkspaceTests: XCTestCase {
    func testTheLocalStackWebhookDropsRudderAddresses() async throws {
        let file = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("deploy/local/workspace.yaml")
        let workspace = try WorkspaceParser().parse(yaml: String(contentsOf: file, encoding: .utf8)).workspace
        let webhook = try XCTUnwrap(workspace.destinations.first { $0.id == "local-webhook" })
        let transformation = try XCTUnwrap(workspace.transformations.first { $0.id == webhook.transformation })
        XCTAssertNil(workspace.destinations.first { $0.id == "local-files" }?.transformation, "the files get every event")
        try await withEngine { engine in
            let outcomes = await engine.transform(
                [
                    input(#"{"type":"identify","messageId":"a","context":{"traits":{"email":"kim@rudderstack.com"}}}"#),
                    input(#"{"type":"track","messageId":"b","context":{"traits":{"email":"sam@example.com"}}}"#),
                    input(#"{"type":"track","messageId":"c"}"#),
                ],
                transformation: TransformationCode(id: transformation.id, code: transformation.code),
                libraries: workspace.libraries.map { LibraryCode(name: $0.name, code: $0.code) })
            XCTAssertTrue(outcomes[0].isDropped)
            XCTAssertEqual(try outcomes[1].singleEvent()["messageId"] as? String, "b")
            XCTAssertEqual(try outcomes[2].singleEvent()["messageId"] as? String, "c")
        }
    }
}

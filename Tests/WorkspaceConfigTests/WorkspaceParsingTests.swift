import EventModel
import WorkspaceConfig
import XCTest

final class WorkspaceParsingTests: XCTestCase {
    func testTheDocumentedExampleParses() throws {
        let parsed = try WorkspaceParser().parse(yaml: exampleWorkspace)
        let workspace = parsed.workspace
        XCTAssertEqual(workspace.id, "acme")

        XCTAssertEqual(workspace.sources, [
            Source(id: "web", name: "Marketing site", writeKey: "2bX9localdevkey", enabled: true, type: .sdk)
        ])

        let hook = try XCTUnwrap(workspace.destinations.first)
        XCTAssertEqual(hook.type, "webhook")
        XCTAssertTrue(hook.enabled)
        XCTAssertEqual(hook.transformation, "drop-internal")
        XCTAssertEqual(hook.config["url"], .string("http://127.0.0.1:9999/hook"))
        XCTAssertEqual(hook.config["method"], .string("POST"))
        XCTAssertEqual(hook.config["headers"]?["X-Token"], .string("${HOOK_TOKEN}"), "references are kept as written")

        XCTAssertEqual(workspace.connections, [Connection(source: "web", destinations: ["hook"])])
        let transformation = try XCTUnwrap(workspace.transformations.first)
        XCTAssertEqual(transformation.language, .javascript)
        XCTAssertEqual(transformation.name, "drop-internal", "name defaults to the id")
        XCTAssertEqual(transformation.importedLibraries, ["isRudderEmail"])
        XCTAssertTrue(transformation.code.hasPrefix("import { rudderEmail }"))
        XCTAssertEqual(workspace.libraries.map(\.name), ["isRudderEmail"])
        XCTAssertTrue(workspace.libraries[0].code.contains("\\+ruddertest"))
        XCTAssertEqual(workspace.settings.gateway, GatewaySettings())
    }

    func testDefaultsAndOptionalFields() throws {
        let yaml = """
            workspace: w
            sources:
              - { id: a, writeKey: k1 }
              - { id: b, name: Hooks, writeKey: k2, type: webhook, enabled: false, rateLimit: 200 }
            destinations:
              - id: d
                name: D
                type: webhook
                enabled: false
                config: { url: "https://example.com/x" }
                eventFilter: { deny: [Internal Ping] }
                consentCategories: [marketing, analytics]
            settings:
              gateway: { maxEventBytes: 1000, maxRequestBytes: 5000, rateLimit: 50 }
              processor: { dedupWindow: 3600 }
              transformations: { fetchAllowedHosts: [person.clearbit.com, "127.0.0.1:8080"] }
            """
        let workspace = try WorkspaceParser().parse(yaml: yaml).workspace
        XCTAssertEqual(workspace.sources[0].name, "a")
        XCTAssertEqual(workspace.sources[0].type, .sdk)
        XCTAssertTrue(workspace.sources[0].enabled)
        XCTAssertNil(workspace.sources[0].rateLimit)
        XCTAssertEqual(workspace.sources[1], Source(id: "b", name: "Hooks", writeKey: "k2", enabled: false, type: .webhook, rateLimit: 200))
        let destination = workspace.destinations[0]
        XCTAssertFalse(destination.enabled)
        XCTAssertEqual(destination.eventFilter, .deny(["Internal Ping"]))
        XCTAssertEqual(destination.consentCategories, ["marketing", "analytics"])
        XCTAssertNil(destination.transformation)
        XCTAssertEqual(workspace.settings.gateway, GatewaySettings(maxEventBytes: 1000, maxRequestBytes: 5000, rateLimit: 50))
        XCTAssertEqual(workspace.settings.raw["processor"]?["dedupWindow"], .int(3600), "other sections are kept for their service")
        XCTAssertEqual(workspace.settings.transformations.fetchAllowedHosts, ["person.clearbit.com", "127.0.0.1:8080"])
        XCTAssertTrue(workspace.connections.isEmpty)
    }

    func testYAMLScalarsBecomeTypedJSON() throws {
        let yaml = """
            workspace: w
            destinations:
              - id: d
                name: D
                type: s3
                config: { bucket: b, partSize: 8, ratio: 0.5, gzip: true, quotedNumber: "8", prefix: null, tags: [a, 1] }
            """
        let config = try WorkspaceParser().parse(yaml: yaml).workspace.destinations[0].config
        XCTAssertEqual(config["partSize"], .int(8))
        XCTAssertEqual(config["ratio"], .double(0.5))
        XCTAssertEqual(config["gzip"], .bool(true))
        XCTAssertEqual(config["quotedNumber"], .string("8"))
        XCTAssertEqual(config["prefix"], .null)
        XCTAssertEqual(config["tags"], .array([.string("a"), .int(1)]))
    }

    func testAStoredDocumentParsesBackToTheSameWorkspace() throws {
        let parsed = try WorkspaceParser().parse(yaml: exampleWorkspace)
        let reloaded = try WorkspaceParser(destinationValidators: nil)
            .parse(document: try JSON(parsing: parsed.document.jsonString))
        XCTAssertEqual(reloaded.workspace, parsed.workspace)
    }

    func testLoadingSkipsTypeChecksWhenAskedTo() throws {
        let yaml = """
            workspace: w
            destinations:
              - { id: d, name: D, type: brand_new_tool }
            """
        XCTAssertThrowsError(try WorkspaceParser().parse(yaml: yaml))
        XCTAssertNoThrow(try WorkspaceParser(destinationValidators: nil).parse(yaml: yaml))
    }

    func testInjectedValidatorsDecideTheKnownTypes() throws {
        var validators = DestinationConfigValidators()
        validators.register("slack") { config, issues in
            issues.requireURL(config, "webhookUrl")
        }
        let parser = WorkspaceParser(destinationValidators: validators)
        let slack = """
            workspace: w
            destinations:
              - { id: s, name: S, type: slack, config: { webhookUrl: "hooks.slack.com/x" } }
              - { id: h, name: H, type: webhook, config: { url: "http://x" } }
            """
        XCTAssertEqual(issueLines { () throws(WorkspaceConfigError) in try parser.parse(yaml: slack) }, [
            "destinations[0].config.webhookUrl: not a URL (expected http:// or https://…)",
            "destinations[1].type: unknown destination type \"webhook\" (known: slack)",
        ])
    }

    func testSnapshotLookups() throws {
        let yaml = """
            workspace: w
            sources:
              - { id: web, writeKey: "${WEB_KEY}" }
              - { id: app, writeKey: appkey, enabled: false }
              - { id: lost, writeKey: "${NOT_SET}" }
            destinations:
              - { id: one, name: One, type: webhook, config: { url: "http://a" } }
              - { id: two, name: Two, type: webhook, config: { url: "http://b" }, enabled: false }
              - { id: three, name: Three, type: webhook, config: { url: "http://c" } }
            connections:
              - { source: web, destinations: [three, one, two] }
              - { source: app, destinations: [one] }
            """
        let workspace = try WorkspaceParser().parse(yaml: yaml).workspace
        let snapshot = WorkspaceSnapshot(
            version: 7, workspace: workspace, secrets: SecretResolver(environment: ["WEB_KEY": "resolved-web"]))
        XCTAssertEqual(snapshot.source(writeKey: "resolved-web")?.id, "web")
        XCTAssertNil(snapshot.source(writeKey: "${WEB_KEY}"), "write keys are looked up resolved")
        XCTAssertEqual(snapshot.source(writeKey: "appkey")?.enabled, false, "disabled sources are found (404, not 401)")
        XCTAssertEqual(snapshot.unresolvedWriteKeys.map(\.variable), ["NOT_SET"])
        XCTAssertEqual(snapshot.destinations(forSource: "web").map(\.id), ["three", "one"], "enabled only, in order")
        XCTAssertEqual(snapshot.destinations(forSource: "nobody"), [])
    }
}

/// The `path: message` lines a parse produced; fails the test when it did not throw.
func issueLines(file: StaticString = #filePath, line: UInt = #line, _ body: () throws(WorkspaceConfigError) -> WorkspaceDocument) -> [String] {
    do {
        _ = try body()
        XCTFail("expected validation errors", file: file, line: line)
        return []
    } catch {
        return error.issues.map(\.description)
    }
}

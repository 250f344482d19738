import EventModel
import WorkspaceConfig
import XCTest

final class SecretTests: XCTestCase {
    let resolver = SecretResolver(environment: ["HOOK_TOKEN": "tok-123-secret", "HOST": "api.example.com", "EMPTY": ""])

    func testResolvesReferencesInsideStrings() throws {
        XCTAssertEqual(try resolver.resolve("${HOOK_TOKEN}", at: "x"), "tok-123-secret")
        XCTAssertEqual(try resolver.resolve("https://${HOST}/v1?t=${HOOK_TOKEN}", at: "x"), "https://api.example.com/v1?t=tok-123-secret")
        XCTAssertEqual(try resolver.resolve("cost: $5, ${EMPTY}done", at: "x"), "cost: $5, done")
        XCTAssertEqual(try resolver.resolve("literal $${HOOK_TOKEN}", at: "x"), "literal ${HOOK_TOKEN}")
        XCTAssertEqual(SecretResolver.references(in: "a ${A} b ${B_2} $${C}"), ["A", "B_2"])
    }

    func testResolvesATreeAndNamesTheMissingVariable() throws {
        let config: JSON = ["url": "https://${HOST}/hook", "headers": ["X-Token": "${HOOK_TOKEN}"], "retries": 3]
        let resolved = try resolver.resolve(config, at: "destinations[0].config")
        XCTAssertEqual(resolved["headers"]?["X-Token"], .string("tok-123-secret"))
        XCTAssertEqual(resolved["retries"], .int(3))

        let missing: JSON = ["headers": ["X-Token": "${HOOK_TOKEN}", "X-Other": "${OTHER_TOKEN}"]]
        XCTAssertThrowsError(try resolver.resolve(missing, at: "destinations[0].config")) { error in
            XCTAssertEqual("\(error)", "destinations[0].config.headers.X-Other: environment variable OTHER_TOKEN is not set")
            XCTAssertFalse("\(error)".contains("tok-123-secret"))
        }
        XCTAssertEqual(resolver.missing(in: missing, at: "c").map(\.variable), ["OTHER_TOKEN"])
    }

    func testMasksSecretLookingKeys() {
        let config: JSON = [
            "url": "https://example.com", "password": "p", "apiKey": "k", "api_key": "k", "writeKey": "w",
            "privateKey": "pk", "clientSecret": "s", "headers": ["Authorization": "Bearer x", "X-Token": "t", "Accept": "json"],
            "credentials": ["user": "u", "pass": "p"], "region": "eu", "keyPrefix": "events/",
            "dsn": "postgres://app:hunter2@db:5432/x",
        ]
        let masked = SecretMasking.masked(config)
        for key in ["password", "apiKey", "api_key", "writeKey", "privateKey", "clientSecret", "credentials"] {
            XCTAssertEqual(masked[key], .string("***"), key)
        }
        XCTAssertEqual(masked["headers"]?["Authorization"], .string("***"))
        XCTAssertEqual(masked["headers"]?["X-Token"], .string("***"))
        XCTAssertEqual(masked["headers"]?["Accept"], .string("json"))
        XCTAssertEqual(masked["url"], .string("https://example.com"))
        XCTAssertEqual(masked["region"], .string("eu"))
        XCTAssertEqual(masked["keyPrefix"], .string("events/"), "only keys that end in key are secret")
        XCTAssertEqual(masked["dsn"], .string("postgres://app:***@db:5432/x"))
    }

    func testMasksEveryValueThatCameFromTheEnvironment() throws {
        let template: JSON = ["url": "https://${HOST}/hook", "channel": "#ops", "list": ["${HOOK_TOKEN}", "plain"]]
        let resolved = try resolver.resolve(template, at: "c")
        let masked = SecretMasking.masked(resolved, template: template)
        XCTAssertEqual(masked["url"], .string("***"))
        XCTAssertEqual(masked["channel"], .string("#ops"))
        XCTAssertEqual(masked["list"], .array([.string("***"), .string("plain")]))
        XCTAssertFalse(masked.jsonString.contains("tok-123-secret"))
        XCTAssertFalse(masked.jsonString.contains("api.example.com"))
    }

    func testTheStoredDocumentKeepsReferencesUnresolved() throws {
        let parsed = try WorkspaceParser().parse(yaml: exampleWorkspace)
        XCTAssertTrue(parsed.document.jsonString.contains("${HOOK_TOKEN}"))
        XCTAssertEqual(SecretMasking.masked(parsed.document)["sources"]?[0]?["writeKey"], .string("***"))
    }
}

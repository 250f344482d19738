import WorkspaceConfig
import XCTest

/// Each bad file yields exactly the listed `path: message` lines.
final class WorkspaceValidationTests: XCTestCase {
    private func assertIssues(_ yaml: String, _ expected: [String], file: StaticString = #filePath, line: UInt = #line) {
        let lines = issueLines(file: file, line: line) { () throws(WorkspaceConfigError) in try WorkspaceParser().parse(yaml: yaml) }
        XCTAssertEqual(lines, expected, file: file, line: line)
    }

    func testDocumentLevelProblems() {
        assertIssues("", ["document: the file is empty"])
        assertIssues("- just\n- a list\n", ["document: must be a mapping (key: value)"])
        assertIssues("workspace: [unclosed\n", ["document: invalid YAML: did not find expected ',' or ']' at line 2, column 1"])
        assertIssues("sources: []\n", ["workspace: is required"])
        assertIssues("workspace: acme corp\n", [
            "workspace: must contain only letters, digits, '_', '-' and '.' (at most 128), and start with a letter or digit"
        ])
        assertIssues("workspace: a\nsource: []\nworkspace: b\n", [
            "document: invalid YAML: duplicate key 'workspace' in the mapping at line 1, column 1"
        ])
        assertIssues("workspace: a\nsource: []\n", ["source: unknown field"])
        assertIssues("workspace: a\nsources: {id: x}\n", ["sources: must be a list"])
    }

    func testSourceProblems() {
        assertIssues(
            """
            workspace: w
            sources:
              - { id: a, writeKey: same }
              - { id: a, writeKey: same }
              - { name: no id }
              - { id: t, writeKey: k, type: mobile, enabled: "yes", rateLimit: -5, writekey: typo }
              - plain string
            """,
            [
                "sources[2].id: is required",
                "sources[2].writeKey: is required",
                "sources[3].enabled: must be true or false",
                "sources[3].type: must be one of: sdk, webhook",
                "sources[3].rateLimit: must be a positive integer",
                "sources[3].writekey: unknown field",
                "sources[4]: must be a mapping (key: value)",
                "sources[1].id: duplicate source id \"a\" (also at sources[0])",
                "sources[1].writeKey: duplicate write key (also at sources[0])",
            ])
    }

    func testDestinationProblems() {
        assertIssues(
            """
            workspace: w
            destinations:
              - { id: ok, name: OK, type: webhook, config: { url: "http://127.0.0.1/x" } }
              - { id: bad-url, name: B, type: webhook, config: { url: "ftp//nope", method: FETCH, headers: { X-A: 1 } } }
              - { id: no-url, name: C, type: webhook }
              - { id: t, type: carrier_pigeon }
              - { id: f, name: F, type: ga4, config: { measurementId: G-1 }, transformation: nope }
              - { id: e, name: E, type: local_storage, config: { path: /tmp }, eventFilter: { allow: [a], deny: [b] } }
              - { id: g, name: G, type: local_storage, config: [path], eventFilter: {} }
              - { id: ok, name: Dup, type: local_storage, config: { path: /tmp } }
            """,
            [
                "destinations[1].config.url: not a URL (expected http:// or https://…)",
                "destinations[1].config.method: must be one of: GET, POST, PUT, PATCH, DELETE",
                "destinations[1].config.headers.X-A: must be a string",
                "destinations[2].config.url: is required",
                "destinations[3].name: is required",
                "destinations[3].type: unknown destination type \"carrier_pigeon\" (known: customerio, ga4, local_storage, postgres, s3, snowflake, webhook)",
                "destinations[4].config.apiSecret: is required",
                "destinations[5].eventFilter: give either allow or deny, not both",
                "destinations[6].config: must be a mapping (key: value)",
                "destinations[6].eventFilter: needs an allow or a deny list",
                "destinations[7].id: duplicate destination id \"ok\" (also at destinations[0])",
                "destinations[4].transformation: unknown transformation \"nope\"",
            ])
    }

    func testConnectionProblems() {
        assertIssues(
            """
            workspace: w
            sources: [{ id: web, writeKey: k }]
            destinations: [{ id: hook, name: H, type: webhook, config: { url: "http://x" } }]
            connections:
              - { source: webx, destinations: [hook] }
              - { source: web, destinations: [hook, hoook, hook] }
              - { source: web }
              - { destinations: [hook] }
            """,
            [
                "connections[2].destinations: is required",
                "connections[3].source: is required",
                "connections[0].source: unknown source \"webx\"",
                "connections[1].destinations[1]: unknown destination \"hoook\"",
                "connections[1].destinations[2]: source \"web\" is already connected to \"hook\"",
            ])
    }

    func testTransformationAndLibraryProblems() {
        assertIssues(
            """
            workspace: w
            transformations:
              - { id: t1, code: "export function transformEvent(e) { return e }", language: python }
              - { id: t2, code: "function nothing() {}" }
              - id: t3
                code: |
                  import { a } from 'known';
                  import * as b from "missing";
                  export function transformBatch(events) { return events }
              - { id: t1 }
            libraries:
              - { name: known, code: "export const a = 1" }
              - { name: known, code: "export const a = 2" }
              - { code: "x" }
            """,
            [
                "transformations[0].language: must be javascript",
                "transformations[1].code: must export a transformEvent or transformBatch function",
                "transformations[3].code: is required",
                "libraries[2].name: is required",
                "transformations[3].id: duplicate transformation id \"t1\" (also at transformations[0])",
                "libraries[1].name: duplicate library name \"known\" (also at libraries[0])",
                "transformations[2].code: imports unknown library \"missing\"",
            ])
    }

    func testSettingsAndReferenceSyntax() {
        assertIssues(
            """
            workspace: w
            sources: [{ id: s, writeKey: "${BROKEN" }]
            destinations:
              - { id: d, name: D, type: webhook, config: { url: "http://x", headers: { A: "${1BAD}", B: "$${LITERAL}", C: "${OK_1}" } } }
            settings:
              gateway: { maxEventBytes: 10000, maxRequestBytes: 100, burst: 3 }
              transformations: { fetchAllowedHosts: ["https://api.example.com/v1", "ok.example.com:443", "bad:0"], timeout: 3 }
            """,
            [
                "settings.gateway.burst: unknown field",
                "settings.gateway.maxEventBytes: must not exceed maxRequestBytes",
                "settings.transformations.fetchAllowedHosts[0]: must be a host name or host:port (no scheme or path), got \"https://api.example.com/v1\"",
                "settings.transformations.fetchAllowedHosts[2]: must be a host name or host:port (no scheme or path), got \"bad:0\"",
                "settings.transformations.timeout: unknown field",
                "sources[0].writeKey: malformed ${…} reference (expected ${NAME} with letters, digits and '_'; write $${ for a literal ${)",
                "destinations[0].config.headers.A: malformed ${…} reference (expected ${NAME} with letters, digits and '_'; write $${ for a literal ${)",
            ])
    }

    func testMessagesNeverRepeatAFieldsValue() {
        let secret = "sk_live_DO_NOT_PRINT"
        let lines = issueLines { () throws(WorkspaceConfigError) in
            try WorkspaceParser().parse(
                yaml: """
                    workspace: w
                    sources:
                      - { id: a, writeKey: \(secret) }
                      - { id: b, writeKey: \(secret) }
                    destinations:
                      - { id: d, name: D, type: webhook, config: { url: "\(secret)", method: "\(secret)" } }
                      - { id: c, name: C, type: customerio, config: { siteId: 1, apiKey: { nested: \(secret) } } }
                    """)
        }
        XCTAssertEqual(lines.count, 5, "\(lines)")
        for line in lines { XCTAssertFalse(line.contains(secret), line) }
    }

    func testYAMLSyntaxErrorsDoNotQuoteTheLine() {
        let lines = issueLines { () throws(WorkspaceConfigError) in
            try WorkspaceParser().parse(yaml: "workspace: w\npassword: \"hunter2\n")
        }
        XCTAssertEqual(lines.count, 1)
        XCTAssertTrue(lines[0].hasPrefix("document: invalid YAML:"), lines[0])
        XCTAssertFalse(lines[0].contains("hunter2"), lines[0])
    }
}

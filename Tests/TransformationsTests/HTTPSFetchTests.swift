import Foundation
import Transformations
import XCTest

/// `fetch` over https against a local TLS server (`openssl s_server`) with a self-signed
/// certificate made for the test: trusted only through the `fetchCAFile` option.
final class HTTPSFetchTests: XCTestCase {
    private static let fetcher = TransformationCode(
        id: "https-fetcher",
        code: """
            export async function transformEvent(event) {
              try {
                const r = await fetchV2(event.url);
                return { status: r.status, body: r.body, contentType: r.headers["content-type"] };
              } catch (e) {
                return { error: String(e.message) };
              }
            }
            """)

    func testFetchOverHTTPSTrustsTheConfiguredCAAndVerifiesByDefault() async throws {
        let server = try TLSTestServer()
        defer { server.stop() }
        let url = "https://127.0.0.1:\(server.port)/enrich.json"

        var trusting = TransformationEngine.Configuration()
        trusting.fetchCAFile = server.certificatePath
        try await withEngine(trusting) { engine in
            let outcomes = await engine.transform(
                [input(#"{"url":"\#(url)"}"#), input(#"{"url":"https://localhost:\#(server.port)/enrich.json"}"#)],
                transformation: Self.fetcher, allowedFetchHosts: ["127.0.0.1:\(server.port)"])
            let event = try outcomes[0].singleEvent()
            XCTAssertEqual(event["status"] as? Int, 200, "\(event)")
            XCTAssertEqual(event["contentType"] as? String, "application/json")
            XCTAssertEqual((event["body"] as? [String: Any])?["plan"] as? String, "enterprise")
            let refused = try outcomes[1].singleEvent()["error"] as? String
            XCTAssertTrue(refused?.contains("localhost is not on this workspace's fetch allow list") == true, refused ?? "")
        }

        // Without the CA file the self-signed certificate is not trusted: verification is on.
        try await withEngine { engine in
            let outcomes = await engine.transform(
                [input(#"{"url":"\#(url)"}"#)], transformation: Self.fetcher, allowedFetchHosts: ["127.0.0.1"])
            let error = try XCTUnwrap(try outcomes[0].singleEvent()["error"] as? String)
            XCTAssertTrue(error.contains("TLS handshake with 127.0.0.1 failed"), error)
        }
    }

    func testHTTPSFetchWorksInAWorkerProcess() async throws {
        let directory = Bundle.main.executableURL?.deletingLastPathComponent()
            ?? URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        let executable = directory.appendingPathComponent("keel-transform-worker").path
        guard FileManager.default.isExecutableFile(atPath: executable) else {
            throw XCTSkip("keel-transform-worker not built next to the tests (\(executable))")
        }
        let server = try TLSTestServer()
        defer { server.stop() }
        var configuration = TransformationEngine.Configuration()
        configuration.workers = 1
        configuration.isolation = .workerProcesses(executable: executable)
        configuration.fetchCAFile = server.certificatePath
        try await withEngine(configuration) { engine in
            let outcomes = await engine.transform(
                [input(#"{"url":"https://127.0.0.1:\#(server.port)/enrich.json"}"#)],
                transformation: Self.fetcher, allowedFetchHosts: ["127.0.0.1"])
            XCTAssertEqual(try outcomes[0].singleEvent()["status"] as? Int, 200)
        }
    }
}

/// `openssl s_server -HTTP` on 127.0.0.1 and a free port, serving files of a temporary directory
/// (each file holds a whole HTTP response), with a self-signed certificate for 127.0.0.1.
final class TLSTestServer {
    let port: Int
    let certificatePath: String
    private let directory: URL
    private let process: Process

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("keel-tls-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        certificatePath = directory.appendingPathComponent("cert.pem").path
        let keyPath = directory.appendingPathComponent("key.pem").path
        try Self.run(
            "/usr/bin/openssl",
            ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", keyPath, "-out", certificatePath, "-days", "1",
             "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"])
        let response = "HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n{\"plan\":\"enterprise\"}"
        try response.write(to: directory.appendingPathComponent("enrich.json"), atomically: true, encoding: .utf8)

        process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        process.arguments = ["s_server", "-accept", "127.0.0.1:0", "-cert", certificatePath, "-key", keyPath, "-HTTP"]
        process.currentDirectoryURL = directory
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        // It prints "ACCEPT 127.0.0.1:PORT" once listening.
        var seen = ""
        var found: Int?
        let deadline = Date().addingTimeInterval(10)
        while found == nil, Date() < deadline {
            let chunk = output.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            seen += String(decoding: chunk, as: UTF8.self)
            if let line = seen.split(separator: "\n").first(where: { $0.hasPrefix("ACCEPT") }),
                let text = line.split(separator: ":").last
            {
                found = Int(text.trimmingCharacters(in: .whitespaces))
            }
        }
        guard let found else {
            kill(process.processIdentifier, SIGKILL)
            throw POSIXError(.EADDRNOTAVAIL)
        }
        port = found
    }

    func stop() {
        // SIGKILL: the child inherits a signal mask that blocks SIGTERM.
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        try? FileManager.default.removeItem(at: directory)
    }

    private static func run(_ executable: String, _ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw POSIXError(.EIO) }
    }
}

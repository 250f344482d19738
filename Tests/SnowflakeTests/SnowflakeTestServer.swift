import Crypto
import EventModel
import Foundation
import HTTPTestServer
import Hummingbird
import Logging
import NIOCore
import ObjectStorage
import Synchronization
import _CryptoExtras

/// A local server speaking Snowflake's SQL API as documented, strict about what it accepts:
///
/// - every request needs `Authorization: Bearer <jwt>`, `X-Snowflake-Authorization-Token-Type:
///   KEYPAIR_JWT`, `Accept: application/json`, a `User-Agent`, and (POST) a JSON body; the JWT must
///   be RS256, verify with the configured public key, and carry `iss`/`sub`/`iat`/`exp` as the
///   key-pair page says (fingerprint from the public key, at most one hour);
/// - a POST needs `requestId`, `statement`, the configured database/schema/warehouse/role, and
///   `MULTI_STATEMENT_COUNT` matching the statements; `?` placeholders need as many bindings;
/// - it runs the statements the Snowflake loader emits against an in-memory catalog
///   (`information_schema.columns`, `CREATE TABLE`, `ALTER TABLE … ADD COLUMN`, temporary tables,
///   `COPY INTO`, `MERGE INTO` whose columns must exist) and answers 422 with code/message/sqlState
///   for anything else, as Snowflake does for compilation errors;
/// - statements matching `asyncPattern` answer 202 with a handle; `GET /api/v2/statements/{handle}`
///   answers 202 `pollsBeforeDone` times, then 200;
/// - `failures` make statements matching a text fail with a given status and body.
final class SnowflakeTestServer: Sendable {
    struct Failure: Sendable {
        var pattern: String
        var status: Int
        var code: String
        var message: String
        /// Answer with the failing statement's text in the message (to prove redaction).
        var echoStatement: Bool = false
    }

    struct Copy: Sendable {
        var staging: String
        var source: String
        var hasCredentials: Bool
    }

    struct State {
        /// TABLE → COLUMN → data_type, as information_schema shows them.
        var tables: [String: [String: String]] = [:]
        var statements: [String] = []
        var copies: [Copy] = []
        var rejected: [String] = []
        var polls = 0
        var asyncPattern: String?
        var pollsBeforeDone = 1
        var pending: [String: (remaining: Int, body: [UInt8])] = [:]
        var failures: [Failure] = []
        /// Results longer than this are split into partitions (0: no split).
        var partitionSize = 0
        /// Handle → the data of each partition.
        var partitions: [String: [[[String?]]]] = [:]
        var partitionRequests = 0
        /// TABLE → ID → COLUMN → value: rows MERGE left in the target tables.
        var rows: [String: [String: [String: JSON]]] = [:]
    }

    let state = Mutex(State())
    private let server: LoopbackHTTPServer
    var port: Int { server.port }
    let account: String
    let user: String
    let database: String
    let schema: String
    let warehouse: String
    let role: String
    let publicKey: _RSA.Signing.PublicKey
    let fingerprint: String
    /// Where COPY reads `s3://` files from (moto in tests).
    let s3: S3Client?
    private init(server: LoopbackHTTPServer, account: String, user: String, database: String, schema: String, warehouse: String, role: String, publicKeyPEM: String, fingerprint: String, s3: S3Client?) throws {
        self.s3 = s3
        self.server = server
        self.account = account
        self.user = user
        self.database = database
        self.schema = schema
        self.warehouse = warehouse
        self.role = role
        self.publicKey = try _RSA.Signing.PublicKey(pemRepresentation: publicKeyPEM)
        self.fingerprint = fingerprint
    }

    var baseURL: String { server.baseURL }

    static func start(
        account: String, user: String, database: String, schema: String, warehouse: String, role: String,
        publicKeyPEM: String, fingerprint: String, s3: S3Client? = nil
    ) async throws -> SnowflakeTestServer {
        let box = Mutex<SnowflakeTestServer?>(nil)
        let router = Hummingbird.Router()
        router.post("/api/v2/statements") { request, _ -> Response in
            guard let server = box.withLock({ $0 }) else { return Response(status: .serviceUnavailable) }
            let body = try await request.body.collect(upTo: 16 << 20)
            return await server.submit(request, body: Array(body.readableBytesView))
        }
        router.get("/api/v2/statements/:handle") { request, context -> Response in
            guard let server = box.withLock({ $0 }) else { return Response(status: .serviceUnavailable) }
            return server.poll(request, handle: context.parameters.get("handle") ?? "")
        }
        router.post("/api/v2/statements/:handle/cancel") { _, _ -> Response in
            Response(status: .ok)
        }
        let loopback = await LoopbackHTTPServer.start(router: router, label: "snowflake-test-server")
        let server: SnowflakeTestServer
        do {
            server = try SnowflakeTestServer(
                server: loopback, account: account, user: user, database: database, schema: schema, warehouse: warehouse, role: role,
                publicKeyPEM: publicKeyPEM, fingerprint: fingerprint, s3: s3)
        } catch {
            await loopback.stop()
            throw error
        }
        box.withLock { $0 = server }
        return server
    }

    func stop() async { await server.stop() }

    // MARK: Protocol checks

    static func header(_ request: Request, _ name: String) -> String? {
        request.headers.first { $0.name.canonicalName == name.lowercased() }?.value
    }

    /// Nil when the headers and the JWT are as documented, else why not.
    func authenticationProblem(_ request: Request) -> String? {
        guard Self.header(request, "X-Snowflake-Authorization-Token-Type") == "KEYPAIR_JWT" else { return "X-Snowflake-Authorization-Token-Type is not KEYPAIR_JWT" }
        guard request.headers[.accept]?.contains("application/json") == true else { return "Accept is not application/json" }
        guard let agent = request.headers[.userAgent], !agent.isEmpty else { return "User-Agent is missing" }
        guard let authorization = request.headers[.authorization], authorization.hasPrefix("Bearer ") else { return "no bearer token" }
        let parts = authorization.dropFirst("Bearer ".count).split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 3, let headerBytes = Self.base64URLDecode(parts[0]), let payloadBytes = Self.base64URLDecode(parts[1]),
            let signature = Self.base64URLDecode(parts[2])
        else { return "token is not a JWT" }
        guard let header = try? JSON(parsing: headerBytes), header["alg"]?.stringValue == "RS256" else { return "alg is not RS256" }
        let signed = Array((parts[0] + "." + parts[1]).utf8)
        guard publicKey.isValidSignature(_RSA.Signing.RSASignature(rawRepresentation: signature), for: SHA256.hash(data: signed), padding: .insecurePKCS1v1_5)
        else { return "signature does not verify with the user's public key" }
        guard let payload = try? JSON(parsing: payloadBytes) else { return "payload is not JSON" }
        let subject = "\(account.uppercased()).\(user.uppercased())"
        guard payload["sub"]?.stringValue == subject else { return "sub is not \(subject)" }
        guard payload["iss"]?.stringValue == "\(subject).\(fingerprint)" else { return "iss does not name the key's fingerprint" }
        let now = Int64(Date().timeIntervalSince1970)
        guard let iat = payload["iat"]?.intValue, let exp = payload["exp"]?.intValue else { return "iat or exp missing" }
        guard iat <= now + 60, exp > now, exp - iat <= 3600 else { return "token expired or valid for more than an hour" }
        return nil
    }

    func submit(_ request: Request, body: [UInt8]) async -> Response {
        if let problem = authenticationProblem(request) {
            state.withLock { $0.rejected.append(problem) }
            return Self.error(401, code: "390144", message: "JWT token is invalid.", sqlState: "08001")
        }
        guard request.uri.queryParameters.get("requestId") != nil else {
            return Self.error(400, code: "391902", message: "requestId missing", sqlState: "")
        }
        guard request.headers[.contentType]?.contains("application/json") == true else {
            return Self.error(415, code: "391901", message: "Content-Type must be application/json", sqlState: "")
        }
        guard let json = try? JSON(parsing: body), let statement = json["statement"]?.stringValue else {
            return Self.error(400, code: "391903", message: "statement is missing", sqlState: "")
        }
        for (field, expected) in [("database", database), ("schema", schema), ("warehouse", warehouse), ("role", role)] {
            guard json[field]?.stringValue == expected else {
                return Self.error(422, code: "390201", message: "\(field) is not \(expected)", sqlState: "08004")
            }
        }
        if let timeout = json["timeout"], timeout.intValue == nil { return Self.error(400, code: "391904", message: "timeout is not a number", sqlState: "") }
        let statements = Self.split(statement)
        let declared = json[path: "parameters", "MULTI_STATEMENT_COUNT"].map { $0.stringValue.flatMap { Int($0) } ?? -1 } ?? 1
        guard declared == 0 || declared == statements.count else {
            return Self.error(
                422, code: "000008",
                message: "Actual statement count \(statements.count) did not match the desired statement count \(declared).", sqlState: "0A000")
        }
        var bindings: [String] = []
        if let object = json["bindings"]?.objectValue {
            for index in 1...max(1, object.count) where object.count > 0 {
                guard let binding = object[String(index)], binding["type"]?.stringValue != nil, let value = binding["value"]?.stringValue else {
                    return Self.error(400, code: "002049", message: "binding \(index) is malformed", sqlState: "22000")
                }
                bindings.append(value)
            }
        }
        guard statements.count == 1 || bindings.isEmpty else {
            return Self.error(400, code: "002049", message: "bindings in a multi-statement request", sqlState: "22000")
        }
        // COPY reads its files before the statements run (the catalog runs under a lock).
        var files: [String: [UInt8]] = [:]
        for statement in statements where statement.hasPrefix("COPY INTO ") {
            guard let url = Self.copySource(statement), let s3, url.hasPrefix("s3://\(s3.configuration.bucket)/") else { continue }
            files[url] = try? await s3.get(key: String(url.dropFirst("s3://\(s3.configuration.bucket)/".count)))
        }
        let handle = UUID().uuidString.lowercased()
        let outcome = state.withLock { state in
            Self.run(statements, bindings: bindings, files: files, handle: handle, server: self, state: &state)
        }
        let isAsync = state.withLock { state -> Bool in
            guard let pattern = state.asyncPattern, outcome.status == 200, statements.contains(where: { $0.contains(pattern) }) else { return false }
            state.pending[handle] = (state.pollsBeforeDone, outcome.body)
            return true
        }
        if isAsync { return Self.inProgress(handle) }
        return Response(
            status: .init(code: outcome.status), headers: [.contentType: "application/json"],
            body: .init(byteBuffer: ByteBuffer(bytes: outcome.body)))
    }

    func poll(_ request: Request, handle: String) -> Response {
        if let problem = authenticationProblem(request) {
            state.withLock { $0.rejected.append(problem) }
            return Self.error(401, code: "390144", message: "JWT token is invalid.", sqlState: "08001")
        }
        if let partition = request.uri.queryParameters.get("partition").flatMap({ Int($0) }) {
            let data = state.withLock { state -> [[String?]]? in
                state.partitionRequests += 1
                guard let partitions = state.partitions[handle], partitions.indices.contains(partition) else { return nil }
                return partitions[partition]
            }
            guard let data else { return Self.error(404, code: "000709", message: "Partition not found", sqlState: "02000") }
            let body: JSON = .object(["data": .array(data.map { .array($0.map { $0.map(JSON.string) ?? .null }) })])
            return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: body.serialized())))
        }
        let answer = state.withLock { state -> [UInt8]?? in
            state.polls += 1
            guard let pending = state.pending[handle] else { return .none }
            if pending.remaining > 0 {
                state.pending[handle]!.remaining -= 1
                return .some(nil)
            }
            state.pending[handle] = nil
            return .some(pending.body)
        }
        switch answer {
        case .none: return Self.error(404, code: "000709", message: "Statement \(handle) not found", sqlState: "02000")
        case .some(nil): return Self.inProgress(handle)
        case .some(let body?):
            return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: body)))
        }
    }

    static func inProgress(_ handle: String) -> Response {
        let body: JSON = .object([
            "code": "333334", "message": "Asynchronous execution in progress. Use provided query id to perform query monitoring and management.",
            "statementHandle": .string(handle), "statementStatusUrl": .string("/api/v2/statements/\(handle)"),
        ])
        return Response(status: .accepted, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: body.serialized())))
    }

    static func error(_ status: Int, code: String, message: String, sqlState: String, handle: String? = nil) -> Response {
        let body = errorBody(code: code, message: message, sqlState: sqlState, handle: handle ?? UUID().uuidString.lowercased())
        return Response(status: .init(code: status), headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }

    static func errorBody(code: String, message: String, sqlState: String, handle: String) -> [UInt8] {
        JSON.object(["code": .string(code), "message": .string(message), "sqlState": .string(sqlState), "statementHandle": .string(handle)])
            .serialized()
    }

    static func base64URLDecode(_ text: String) -> [UInt8]? {
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.count % 4 != 0 { base64 += "=" }
        return Data(base64Encoded: base64).map(Array.init)
    }

    /// The `s3://…` URL of `COPY INTO … FROM '<url>' …`.
    static func copySource(_ statement: String) -> String? {
        guard let from = statement.range(of: " FROM '") else { return nil }
        let rest = statement[from.upperBound...]
        return rest.firstIndex(of: "'").map { String(rest[..<$0]) }
    }

    /// Splits on `;` outside single-quoted literals.
    static func split(_ text: String) -> [String] {
        var parts: [String] = []
        var current = ""
        var quoted = false
        var escaped = false
        for character in text {
            if escaped { escaped = false; current.append(character); continue }
            if quoted, character == "\\" { escaped = true; current.append(character); continue }
            if character == "'" { quoted.toggle() }
            if character == ";", !quoted {
                parts.append(current.trimmingCharacters(in: .whitespacesAndNewlines))
                current = ""
                continue
            }
            current.append(character)
        }
        let last = current.trimmingCharacters(in: .whitespacesAndNewlines)
        if !last.isEmpty { parts.append(last) }
        return parts
    }
}

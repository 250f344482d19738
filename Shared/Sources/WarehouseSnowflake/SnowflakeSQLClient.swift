import AsyncHTTPClient
import EventModel
import Foundation
import Logging
import NIOCore
import NIOHTTP1

/// A bind variable of the SQL API (`"bindings": {"1": {"type": "TEXT", "value": "…"}}`).
public struct SnowflakeBinding: Sendable, Equatable {
    /// `TEXT`, `FIXED`, `REAL`, `BOOLEAN`, `TIMESTAMP_TZ`, …
    public var type: String
    public var value: String?

    public init(type: String, value: String?) {
        self.type = type
        self.value = value
    }

    public static func text(_ value: String) -> SnowflakeBinding { SnowflakeBinding(type: "TEXT", value: value) }
}

/// The answer to a statement: column names and rows as the SQL API returns them (every value a
/// string or null, format `jsonv2`).
public struct SnowflakeResult: Sendable {
    public var statementHandle: String
    /// The handles of each statement of a multi-statement request, in order.
    public var statementHandles: [String]
    public var columns: [String]
    public var rows: [[String?]]
}

/// Submits statements to Snowflake's SQL API (`POST /api/v2/statements`) with key-pair JWT
/// authentication, polls `GET /api/v2/statements/{handle}` while a statement runs (HTTP 202) with
/// exponential backoff up to a deadline, reads every partition of a result, and turns failures
/// into ``SnowflakeError``.
///
/// Statements run in the configured warehouse, database, schema and role; each request is its own
/// session, so temporary tables and transactions live within one request (use
/// ``execute(_:statementCount:)`` with several statements for them).
public struct SnowflakeSQLClient: Sendable {
    public let configuration: SnowflakeConfiguration
    public let jwt: SnowflakeJWT
    let httpClient: HTTPClient
    let logger: Logger
    /// First wait between polls; doubles up to `maximumPollInterval`.
    public var initialPollInterval: Duration = .milliseconds(200)
    public var maximumPollInterval: Duration = .seconds(5)

    public init(configuration: SnowflakeConfiguration, httpClient: HTTPClient, logger: Logger) throws(SnowflakeError) {
        self.configuration = configuration
        self.httpClient = httpClient
        self.logger = logger
        do {
            jwt = try SnowflakeJWT(account: configuration.account, user: configuration.user, privateKeyPEM: configuration.privateKeyPEM)
        } catch {
            throw SnowflakeError(.configuration, message: error.description)
        }
    }

    /// Runs one statement; `?` placeholders take `bindings` in order.
    public func query(_ statement: String, bindings: [SnowflakeBinding] = []) async throws(SnowflakeError) -> SnowflakeResult {
        try await submit(statement, bindings: bindings, statementCount: 1)
    }

    /// Runs `statementCount` statements separated by `;` in one request (one session): the SQL
    /// API's multi-statement form, which takes no bindings. A failing statement stops the rest.
    public func execute(_ statements: String, statementCount: Int) async throws(SnowflakeError) -> SnowflakeResult {
        try await submit(statements, bindings: [], statementCount: statementCount)
    }

    // MARK: Requests

    func submit(_ statement: String, bindings: [SnowflakeBinding], statementCount: Int) async throws(SnowflakeError) -> SnowflakeResult {
        let deadline = ContinuousClock.now + configuration.deadline
        var body: JSONObject = [
            "statement": .string(statement),
            "timeout": .int(Int64(configuration.statementTimeoutSeconds)),
            "database": .string(configuration.database),
            "schema": .string(configuration.schema),
            "warehouse": .string(configuration.warehouse),
        ]
        if let role = configuration.role { body["role"] = .string(role) }
        if !bindings.isEmpty {
            var object = JSONObject()
            for (index, binding) in bindings.enumerated() {
                object[String(index + 1)] = .object(["type": .string(binding.type), "value": binding.value.map(JSON.string) ?? .null])
            }
            body["bindings"] = .object(object)
        }
        if statementCount != 1 {
            body["parameters"] = .object(["MULTI_STATEMENT_COUNT": .string(String(statementCount))])
        }
        let requestId = MessageID.random()
        let path = "/api/v2/statements?requestId=\(requestId)"
        var answer = try await send(.POST, path: path, body: JSON.object(body).serialized(), deadline: deadline, retryAuthentication: true)
        var wait = initialPollInterval
        while answer.status == 202 {
            let handle = answer.json["statementHandle"]?.stringValue ?? ""
            let statusPath = answer.json["statementStatusUrl"]?.stringValue ?? "/api/v2/statements/\(handle)"
            guard ContinuousClock.now + wait < deadline else {
                await cancel(handle)
                throw SnowflakeError(
                    .timeout, message: "statement did not finish within \(configuration.deadline)", statementHandle: handle)
            }
            do { try await Task.sleep(for: wait) } catch {
                await cancel(handle)
                throw SnowflakeError(.timeout, message: "cancelled while waiting for the statement", statementHandle: handle)
            }
            wait = min(wait * 2, maximumPollInterval)
            logger.trace("polling snowflake statement", metadata: ["statementHandle": "\(handle)"])
            answer = try await send(.GET, path: statusPath, body: nil, deadline: deadline, retryAuthentication: true)
        }
        var result = Self.result(answer.json)
        // Further partitions of a large result.
        let partitions = answer.json[path: "resultSetMetaData", "partitionInfo"]?.arrayValue?.count ?? 1
        if partitions > 1 {
            for partition in 1..<partitions {
                let more = try await send(
                    .GET, path: "/api/v2/statements/\(result.statementHandle)?partition=\(partition)", body: nil,
                    deadline: deadline, retryAuthentication: true)
                result.rows += Self.result(more.json).rows
            }
        }
        return result
    }

    struct Answer {
        var status: Int
        var json: JSON
    }

    func send(_ method: HTTPMethod, path: String, body: [UInt8]?, deadline: ContinuousClock.Instant, retryAuthentication: Bool) async throws(SnowflakeError) -> Answer {
        let token: String
        do { token = try jwt.token() } catch { throw SnowflakeError(.configuration, message: error.description) }
        // `statementStatusUrl` is a path; take a full URL as it comes.
        var request = HTTPClientRequest(url: path.hasPrefix("https://") || path.hasPrefix("http://") ? path : configuration.baseURL + path)
        request.method = method
        request.headers.add(name: "Authorization", value: "Bearer \(token)")
        request.headers.add(name: "X-Snowflake-Authorization-Token-Type", value: "KEYPAIR_JWT")
        request.headers.add(name: "Accept", value: "application/json")
        request.headers.add(name: "User-Agent", value: configuration.userAgent)
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: body))
        }
        let remaining = deadline - ContinuousClock.now
        guard remaining > .zero else { throw SnowflakeError(.timeout, message: "deadline passed before the request") }
        let status: Int
        let bytes: ByteBuffer
        do {
            let response = try await httpClient.execute(request, timeout: .milliseconds(max(1, remaining.milliseconds)))
            status = Int(response.status.code)
            bytes = try await response.body.collect(upTo: 256 << 20)
        } catch let error as HTTPClientError where error == .deadlineExceeded || error == .readTimeout {
            throw SnowflakeError(.timeout, message: "no answer from the SQL API within the deadline")
        } catch {
            throw SnowflakeError(.unavailable, message: redact("request failed: \(String(describing: error).prefix(200))", token: token))
        }
        let json = (try? JSON(parsing: Array(buffer: bytes))) ?? .null
        if status == 200 || status == 202 { return Answer(status: status, json: json) }
        if status == 401, retryAuthentication {
            // A token the server no longer accepts (clock skew, rotated key): sign a fresh one once.
            jwt.invalidate()
            return try await send(method, path: path, body: body, deadline: deadline, retryAuthentication: false)
        }
        var message = json["message"]?.stringValue ?? String(decoding: Array(buffer: bytes).prefix(300), as: UTF8.self)
        if message.isEmpty { message = "HTTP \(status) without a message" }
        throw SnowflakeError(
            SnowflakeError.code(forStatus: status), message: redact(message, token: token), httpStatus: status,
            snowflakeCode: json["code"]?.stringValue, sqlState: json["sqlState"]?.stringValue,
            statementHandle: json["statementHandle"]?.stringValue)
    }

    /// Best effort: asks the server to stop a statement we gave up on.
    func cancel(_ handle: String) async {
        guard !handle.isEmpty else { return }
        _ = try? await send(
            .POST, path: "/api/v2/statements/\(handle)/cancel", body: Array("{}".utf8),
            deadline: .now + .seconds(10), retryAuthentication: false)
    }

    func redact(_ text: String, token: String) -> String {
        SnowflakeError.redact(text, secrets: configuration.secrets + [token])
    }

    static func result(_ json: JSON) -> SnowflakeResult {
        let columns = json[path: "resultSetMetaData", "rowType"]?.arrayValue?.map { $0["name"]?.stringValue ?? "" } ?? []
        let rows = json["data"]?.arrayValue?.map { row in (row.arrayValue ?? []).map { $0.stringValue } } ?? []
        return SnowflakeResult(
            statementHandle: json["statementHandle"]?.stringValue ?? "",
            statementHandles: json["statementHandles"]?.arrayValue?.compactMap(\.stringValue) ?? [],
            columns: columns, rows: rows)
    }
}

extension Duration {
    var milliseconds: Int64 { components.seconds * 1000 + components.attoseconds / 1_000_000_000_000_000 }
}

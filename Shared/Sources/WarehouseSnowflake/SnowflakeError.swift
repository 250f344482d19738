import Foundation

/// A failed SQL API call. The description is safe to log and store: HTTP status, Snowflake's
/// error code, SQLSTATE and message, with the token, the private key and AWS secrets removed.
/// Retry decisions come from ``code``.
public struct SnowflakeError: Error, Sendable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }
        public var description: String { name }

        /// The server refused the token (401/403): key not assigned to the user, wrong account.
        public static let authentication = Code("authentication")
        /// A statement failed to compile or run (422, 400): fix the SQL or the warehouse.
        public static let statement = Code("statement")
        /// Throttled (429), a server error (5xx) or the connection failed: try again later.
        public static let unavailable = Code("unavailable")
        /// The statement did not finish within the deadline (or the server timed out, 408).
        public static let timeout = Code("timeout")
        /// The request was refused for another reason (other 4xx, an unreadable answer).
        public static let rejected = Code("rejected")
        /// The configuration cannot work (the key, the URL).
        public static let configuration = Code("configuration")
    }

    public var code: Code
    public var httpStatus: Int?
    /// Snowflake's error code (`002003`, `000904`, `390144`, …).
    public var snowflakeCode: String?
    public var sqlState: String?
    /// Redacted and at most 500 characters.
    public var message: String
    public var statementHandle: String?

    public init(
        _ code: Code, message: String, httpStatus: Int? = nil, snowflakeCode: String? = nil, sqlState: String? = nil,
        statementHandle: String? = nil
    ) {
        self.code = code
        self.message = message
        self.httpStatus = httpStatus
        self.snowflakeCode = snowflakeCode
        self.sqlState = sqlState
        self.statementHandle = statementHandle
    }

    /// Throttling, server errors, connection failures and timeouts may pass on a later attempt;
    /// compilation errors and refused credentials will not.
    public var isRetryable: Bool { code == .unavailable || code == .timeout }

    public var description: String {
        var parts: [String] = []
        if let httpStatus { parts.append("HTTP \(httpStatus)") }
        if let snowflakeCode { parts.append("code \(snowflakeCode)") }
        if let sqlState { parts.append("sqlState \(sqlState)") }
        let context = parts.isEmpty ? "" : " (" + parts.joined(separator: ", ") + ")"
        return "snowflake \(code)\(context): \(message)"
    }

    /// The code for an HTTP status of the SQL API.
    static func code(forStatus status: Int) -> Code {
        switch status {
        case 401, 403: .authentication
        case 408: .timeout
        case 422, 400: .statement
        case 429, 500...: .unavailable
        default: .rejected
        }
    }

    /// Removes every secret from `text` and caps its length.
    static func redact(_ text: String, secrets: [String]) -> String {
        var out = text
        for secret in secrets where !secret.isEmpty && out.contains(secret) {
            out = out.replacingOccurrences(of: secret, with: "[redacted]")
        }
        if out.count > 500 { out = String(out.prefix(500)) + "…" }
        return out
    }
}

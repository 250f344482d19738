import Crypto

/// Signs HTTP requests with AWS Signature Version 4 (header-based authentication).
///
/// Pure: it takes the request's parts and the time, and returns the headers to add. It is tested
/// against the worked examples of AWS's documentation, because local S3 servers (moto) do not
/// check signatures.
public struct SigV4Signer: Sendable {
    public var accessKeyId: String
    public var secretAccessKey: String
    /// Temporary credentials carry a session token, sent as `x-amz-security-token`.
    public var sessionToken: String?
    public var region: String
    /// The signing name of the service: `s3` for object storage.
    public var service: String

    public init(accessKeyId: String, secretAccessKey: String, sessionToken: String? = nil, region: String, service: String) {
        self.accessKeyId = accessKeyId
        self.secretAccessKey = secretAccessKey
        self.sessionToken = sessionToken
        self.region = region
        self.service = service
    }

    /// The hex SHA-256 of a payload, for `x-amz-content-sha256` and the canonical request.
    public static func payloadHash(_ body: some Sequence<UInt8>) -> String {
        hex(SHA256.hash(data: Array(body)))
    }

    /// The hash of an empty payload.
    public static let emptyPayloadHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

    /// Returns the headers to add to a request so that it is signed: `x-amz-date`,
    /// `x-amz-content-sha256`, `x-amz-security-token` when there is a session token, and
    /// `Authorization`.
    ///
    /// - Parameters:
    ///   - path: the URL path, not yet percent-encoded (`/bucket/my key.json`).
    ///   - query: the query parameters, not yet percent-encoded.
    ///   - headers: the headers that will be sent and signed; must include `host`.
    ///   - secondsSinceEpoch: the signing time.
    public func signedHeaders(
        method: String,
        path: String,
        query: [(String, String)],
        headers: [(String, String)],
        payloadHash: String,
        secondsSinceEpoch: Int64
    ) -> [(String, String)] {
        let amzDate = Self.amzDate(secondsSinceEpoch)
        var added: [(String, String)] = [("x-amz-date", amzDate), ("x-amz-content-sha256", payloadHash)]
        if let sessionToken { added.append(("x-amz-security-token", sessionToken)) }
        let authorization = authorization(
            method: method,
            path: path,
            query: query,
            headers: headers + added,
            payloadHash: payloadHash,
            amzDate: amzDate
        )
        return added + [("Authorization", authorization)]
    }

    /// The `Authorization` header value for a request whose headers already include `host` and
    /// `x-amz-date` (and any other header to sign).
    public func authorization(
        method: String,
        path: String,
        query: [(String, String)],
        headers: [(String, String)],
        payloadHash: String,
        amzDate: String
    ) -> String {
        let day = String(amzDate.prefix(8))
        let scope = "\(day)/\(region)/\(service)/aws4_request"
        let canonical = Self.canonicalHeaders(headers)
        let request = [
            method.uppercased(),
            Self.canonicalURI(path),
            Self.canonicalQuery(query),
            canonical.block,
            canonical.names,
            payloadHash,
        ].joined(separator: "\n")
        let stringToSign = [
            "AWS4-HMAC-SHA256", amzDate, scope, Self.hex(SHA256.hash(data: Array(request.utf8))),
        ].joined(separator: "\n")
        let signature = Self.hex(HMAC<SHA256>.authenticationCode(for: Array(stringToSign.utf8), using: signingKey(day: day)))
        return "AWS4-HMAC-SHA256 Credential=\(accessKeyId)/\(scope), SignedHeaders=\(canonical.names), Signature=\(signature)"
    }

    func signingKey(day: String) -> SymmetricKey {
        var key = SymmetricKey(data: Array("AWS4\(secretAccessKey)".utf8))
        for part in [day, region, service, "aws4_request"] {
            key = SymmetricKey(data: Array(HMAC<SHA256>.authenticationCode(for: Array(part.utf8), using: key)))
        }
        return key
    }

    /// Each path segment percent-encoded once; `/` kept.
    static func canonicalURI(_ path: String) -> String {
        let encoded = uriEncode(path, keepSlash: true)
        return encoded.isEmpty ? "/" : encoded
    }

    static func canonicalQuery(_ query: [(String, String)]) -> String {
        query
            .map { (uriEncode($0.0, keepSlash: false), uriEncode($0.1, keepSlash: false)) }
            .sorted { $0.0 == $1.0 ? $0.1 < $1.1 : $0.0 < $1.0 }
            .map { "\($0.0)=\($0.1)" }
            .joined(separator: "&")
    }

    /// Lower-cased names, trimmed values with inner runs of spaces folded, sorted by name.
    static func canonicalHeaders(_ headers: [(String, String)]) -> (block: String, names: String) {
        var merged: [String: [String]] = [:]
        for (name, value) in headers {
            let folded = value.split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ")
            merged[name.lowercased(), default: []].append(folded)
        }
        let names = merged.keys.sorted()
        let block = names.map { "\($0):\(merged[$0]!.joined(separator: ","))\n" }.joined()
        return (block, names.joined(separator: ";"))
    }

    /// RFC 3986 percent-encoding of everything but unreserved characters (and `/` when asked).
    static func uriEncode(_ text: String, keepSlash: Bool) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."),
                UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            case UInt8(ascii: "/") where keepSlash:
                out.append("/")
            default:
                out.append("%")
                out.append(hexDigits[Int(byte >> 4)])
                out.append(hexDigits[Int(byte & 0x0F)])
            }
        }
        return out
    }

    private static let hexDigits: [Character] = Array("0123456789ABCDEF")

    static func hex(_ bytes: some Sequence<UInt8>) -> String {
        let digits: [Character] = Array("0123456789abcdef")
        var out = ""
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0F)])
        }
        return out
    }

    /// `yyyyMMdd'T'HHmmss'Z'` in UTC.
    static func amzDate(_ seconds: Int64) -> String {
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let secondOfDay = seconds - days * 86_400
        let (year, month, day) = civilDate(daysSinceEpoch: days)
        func two(_ value: Int64) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return "\(year)\(two(month))\(two(day))T\(two(secondOfDay / 3600))\(two(secondOfDay / 60 % 60))\(two(secondOfDay % 60))Z"
    }

    /// Howard Hinnant's days-to-civil algorithm (proleptic Gregorian calendar).
    static func civilDate(daysSinceEpoch: Int64) -> (Int64, Int64, Int64) {
        let z = daysSinceEpoch + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }
}

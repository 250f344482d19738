public import Hummingbird
public import NIOCore
import HTTPTypes

/// The request context of the public server: Hummingbird's core storage plus the peer address,
/// which becomes `request_ip` when there is no `X-Forwarded-For`.
public struct GatewayRequestContext: RequestContext, RemoteAddressRequestContext {
    public var coreContext: CoreRequestContextStorage
    public let remoteAddress: SocketAddress?

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.remoteAddress = source.channel.remoteAddress
    }
}

/// Plain-text responses, as RudderStack's and Segment's SDKs expect.
enum PlainText {
    static func response(_ status: HTTPResponse.Status, _ text: String, headers: HTTPFields = [:]) -> Response {
        var headers = headers
        headers[.contentType] = "text/plain; charset=utf-8"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: text)))
    }
}

/// The parts of a request that identify the caller and its write key.
enum RequestIdentity {
    /// The write key: the Basic auth username (password empty), else the `writeKey` query
    /// parameter. The value is a credential: never log it.
    static func writeKey(of request: Request) -> String? {
        if let authorization = request.headers[.authorization], let key = basicUsername(authorization), !key.isEmpty {
            return key
        }
        if let key = request.uri.queryParameters["writeKey"], !key.isEmpty {
            return String(key)
        }
        return nil
    }

    /// The first `X-Forwarded-For` entry, else the peer's address.
    static func clientIP(of request: Request, context: GatewayRequestContext) -> String {
        if let forwarded = request.headers[.xForwardedFor] {
            let first = forwarded.split(separator: ",", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
            let trimmed = first.trimmingSpacesAndTabs
            if !trimmed.isEmpty { return String(trimmed) }
        }
        return context.remoteAddress?.ipAddress ?? ""
    }

    /// The username of an `Authorization: Basic …` header.
    static func basicUsername(_ header: String) -> String? {
        var value = Substring(header).trimmingSpacesAndTabs
        guard value.count > 6, value.prefix(6).lowercased() == "basic " else { return nil }
        value = value.dropFirst(6).trimmingSpacesAndTabs
        guard let decoded = Base64.decode(value) else { return nil }
        let username = decoded.split(separator: UInt8(ascii: ":"), maxSplits: 1, omittingEmptySubsequences: false).first ?? []
        return String(validating: username, as: UTF8.self)
    }
}

extension HTTPField.Name {
    static let xForwardedFor = HTTPField.Name("X-Forwarded-For")!
    static let anonymousId = HTTPField.Name("AnonymousId")!
}

extension Substring {
    var trimmingSpacesAndTabs: Substring {
        var result = self
        while let first = result.first, first == " " || first == "\t" { result = result.dropFirst() }
        while let last = result.last, last == " " || last == "\t" { result = result.dropLast() }
        return result
    }
}

/// Standard base64 (RFC 4648) decoding, padding optional, for Basic auth headers.
enum Base64 {
    static func decode(_ text: Substring) -> [UInt8]? {
        var output: [UInt8] = []
        output.reserveCapacity(text.utf8.count * 3 / 4)
        var accumulator: UInt32 = 0
        var bits = 0
        var sawPadding = false
        for byte in text.utf8 {
            let value: UInt8
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"): value = byte - UInt8(ascii: "A")
            case UInt8(ascii: "a")...UInt8(ascii: "z"): value = byte - UInt8(ascii: "a") + 26
            case UInt8(ascii: "0")...UInt8(ascii: "9"): value = byte - UInt8(ascii: "0") + 52
            case UInt8(ascii: "+"), UInt8(ascii: "-"): value = 62
            case UInt8(ascii: "/"), UInt8(ascii: "_"): value = 63
            case UInt8(ascii: "="):
                sawPadding = true
                continue
            default: return nil
            }
            if sawPadding { return nil }
            accumulator = accumulator << 6 | UInt32(value)
            bits += 6
            if bits >= 8 {
                bits -= 8
                output.append(UInt8(truncatingIfNeeded: accumulator >> UInt32(bits)))
            }
        }
        return output
    }
}

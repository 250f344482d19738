import AsyncHTTPClient
import NIOCore
import NIOHTTP1

/// An S3-compatible object store over AsyncHTTPClient, signed with SigV4.
///
/// Puts larger than `multipartThreshold` use a multipart upload, aborted if any part fails.
public struct S3Client: ObjectStore {
    public let configuration: S3Configuration
    let httpClient: HTTPClient
    let signer: SigV4Signer
    let scheme: String
    let host: String

    /// Largest response body read (error documents, listings); objects use `get` with no cap.
    static let maxResponseBytes = 64 << 20

    public init(configuration: S3Configuration, httpClient: HTTPClient) throws(ObjectStorageError) {
        self.configuration = configuration
        self.httpClient = httpClient
        self.signer = SigV4Signer(
            accessKeyId: configuration.accessKeyId,
            secretAccessKey: configuration.secretAccessKey,
            sessionToken: configuration.sessionToken,
            region: configuration.region,
            service: "s3"
        )
        let endpoint = configuration.endpoint ?? "https://s3.\(configuration.region).amazonaws.com"
        guard let schemeEnd = endpoint.range(of: "://") else {
            throw ObjectStorageError(.configuration, "endpoint \(endpoint) has no scheme (http:// or https://)")
        }
        scheme = String(endpoint[..<schemeEnd.lowerBound])
        var hostPart = String(endpoint[schemeEnd.upperBound...])
        while hostPart.hasSuffix("/") { hostPart.removeLast() }
        guard !hostPart.isEmpty, !configuration.bucket.isEmpty else {
            throw ObjectStorageError(.configuration, "endpoint and bucket must not be empty")
        }
        host = configuration.pathStyle ? hostPart : "\(configuration.bucket).\(hostPart)"
    }

    public func location(of key: String) -> String { "s3://\(configuration.bucket)/\(key)" }

    public func put(key: String, body: [UInt8], contentType: String) async throws(ObjectStorageError) {
        if body.count > configuration.multipartThreshold {
            try await multipartPut(key: key, body: body, contentType: contentType)
            return
        }
        _ = try await send("PUT", key: key, body: body, headers: [("Content-Type", contentType)], operation: "put \(key)")
    }

    public func get(key: String) async throws(ObjectStorageError) -> [UInt8] {
        try await send("GET", key: key, operation: "get \(key)", responseLimit: Int.max).body
    }

    public func list(prefix: String) async throws(ObjectStorageError) -> [String] {
        var keys: [String] = []
        var token: String?
        repeat {
            var query = [("list-type", "2"), ("prefix", prefix)]
            if let token { query.append(("continuation-token", token)) }
            let response = try await send("GET", key: nil, query: query, operation: "list \(prefix)")
            let document = String(decoding: response.body, as: UTF8.self)
            keys += XMLScan.values(of: "Key", in: document)
            token = XMLScan.values(of: "IsTruncated", in: document).first == "true"
                ? XMLScan.values(of: "NextContinuationToken", in: document).first : nil
        } while token != nil
        return keys.sorted()
    }

    /// Creates the bucket; succeeds when it already exists and is ours.
    public func createBucket() async throws(ObjectStorageError) {
        do {
            _ = try await send("PUT", key: nil, operation: "create bucket \(configuration.bucket)")
        } catch where error.message.contains("BucketAlreadyOwnedByYou") {
            return
        }
    }

    // MARK: Requests

    struct Response {
        var status: UInt
        var headers: HTTPHeaders
        var body: [UInt8]
    }

    /// The path of an object (or of the bucket when `key` is nil), not yet percent-encoded.
    func path(for key: String?) -> String {
        let objectPath = key.map { "/" + $0 } ?? "/"
        return configuration.pathStyle ? "/\(configuration.bucket)\(key == nil ? "" : objectPath)" : objectPath
    }

    func send(
        _ method: String,
        key: String?,
        query: [(String, String)] = [],
        body: [UInt8] = [],
        headers extra: [(String, String)] = [],
        operation: String,
        responseLimit: Int = S3Client.maxResponseBytes
    ) async throws(ObjectStorageError) -> Response {
        let path = path(for: key)
        var headers = [("host", host)] + extra
        let payloadHash = body.isEmpty ? SigV4Signer.emptyPayloadHash : SigV4Signer.payloadHash(body)
        headers += signer.signedHeaders(
            method: method,
            path: path,
            query: query,
            headers: headers,
            payloadHash: payloadHash,
            secondsSinceEpoch: Int64(clock_gettime_seconds())
        )
        var url = "\(scheme)://\(host)\(SigV4Signer.canonicalURI(path))"
        if !query.isEmpty { url += "?" + SigV4Signer.canonicalQuery(query) }
        var request = HTTPClientRequest(url: url)
        request.method = HTTPMethod(rawValue: method)
        for (name, value) in headers where name != "host" { request.headers.add(name: name, value: value) }
        if !body.isEmpty || method == "PUT" || method == "POST" {
            request.body = .bytes(ByteBuffer(bytes: body))
            request.headers.replaceOrAdd(name: "Content-Length", value: String(body.count))
        }
        let response: HTTPClientResponse
        let bytes: ByteBuffer
        do {
            response = try await httpClient.execute(request, timeout: .seconds(configuration.requestTimeoutSeconds))
            bytes = try await response.body.collect(upTo: responseLimit)
        } catch {
            throw ObjectStorageError(.unavailable, "\(operation): \(Self.describe(error))")
        }
        let result = Response(status: response.status.code, headers: response.headers, body: Array(buffer: bytes))
        guard (200..<300).contains(result.status) else { throw Self.error(for: result, operation: operation) }
        return result
    }

    static func error(for response: Response, operation: String) -> ObjectStorageError {
        let document = String(decoding: response.body.prefix(4096), as: UTF8.self)
        let s3Code = XMLScan.values(of: "Code", in: document).first ?? "no error code"
        let message = "\(operation): HTTP \(response.status) \(s3Code)"
        switch response.status {
        case 404: return ObjectStorageError(.notFound, message)
        case 401, 403: return ObjectStorageError(.accessDenied, message)
        case 408, 429, 500...: return ObjectStorageError(.unavailable, message)
        default: return ObjectStorageError(.rejected, message)
        }
    }

    /// Client errors carry no secrets, but keep only their type and short description.
    static func describe(_ error: any Error) -> String {
        String(String(describing: error).prefix(200))
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

func clock_gettime_seconds() -> Int {
    var now = timespec()
    clock_gettime(CLOCK_REALTIME, &now)
    return now.tv_sec
}

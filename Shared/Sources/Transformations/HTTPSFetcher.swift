import AsyncHTTPClient
import Foundation
import JSEngineShim
import NIOCore
import NIOHTTP1
import NIOSSL

/// Makes the transformations' `https://` fetches (the engine's own client speaks plain http) with
/// AsyncHTTPClient: certificates are always verified (the system's roots plus, optionally, a CA
/// file), redirects are not followed (a redirect's host would escape the allow list; the 3xx
/// response is returned as is), and the whole request is bounded by the deadline the engine
/// gives (the fetch timeout, capped by the time left in the call). The URL, allow list, method and
/// headers were checked by the engine before. One client per engine, created on first use.
final class HTTPSFetcher: @unchecked Sendable {
    private let caFile: String?
    private let lock = NSLock()
    // Guarded by `lock`.
    private var client: HTTPClient?
    private var closed = false

    init(caFile: String?) {
        self.caFile = caFile
    }

    /// The C callback the engine calls with `https_fetch_user` set to an unretained fetcher.
    static let callback: kjs_fetch_fn = { user, request, result in
        guard let user, let request, let result else { return }
        Unmanaged<HTTPSFetcher>.fromOpaque(user).takeUnretainedValue().fetch(request.pointee, into: result)
    }

    func shutdown() {
        lock.lock()
        let client = self.client
        self.client = nil
        closed = true
        lock.unlock()
        // Not blocking: this may run at process exit.
        client?.shutdown { _ in }
    }

    private func sharedClient() throws -> HTTPClient {
        lock.lock()
        defer { lock.unlock() }
        if let client { return client }
        if closed { throw FetchFailure("the transformation engine is shut down") }
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.certificateVerification = .fullVerification
        if let caFile { tls.additionalTrustRoots = [.file(caFile)] }
        var configuration = HTTPClient.Configuration(
            tlsConfiguration: tls, redirectConfiguration: .disallow, decompression: .disabled)
        configuration.httpVersion = .http1Only
        configuration.tracing.tracer = nil  // as the router's client: no tracing system, no span work
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        self.client = client
        return client
    }

    private struct FetchFailure: Error {
        let message: String
        init(_ message: String) { self.message = message }
    }

    private func fetch(_ request: kjs_fetch_request, into result: OpaquePointer) {
        func text(_ pointer: UnsafePointer<CChar>?, _ count: Int) -> String {
            String(decoding: UnsafeRawBufferPointer(start: pointer, count: count), as: UTF8.self)
        }
        let url = text(request.url, request.url_len)
        do {
            let client = try sharedClient()
            var outgoing = try HTTPClient.Request(url: url, method: HTTPMethod(rawValue: text(request.method, request.method_len)))
            var hasContentType = false
            let fields = text(request.headers, request.headers_len).split(separator: "\0", omittingEmptySubsequences: false)
            var index = 0
            while index + 1 < fields.count {
                let name = String(fields[index]), value = String(fields[index + 1])
                index += 2
                switch name.lowercased() {
                case "host", "connection", "content-length", "transfer-encoding": continue
                case "content-type": hasContentType = true
                default: break
                }
                outgoing.headers.add(name: name, value: value)
            }
            if request.body_len > 0 {
                if !hasContentType { outgoing.headers.add(name: "Content-Type", value: "application/json") }
                outgoing.body = .byteBuffer(ByteBuffer(bytes: UnsafeRawBufferPointer(start: request.body, count: request.body_len)))
            }
            let delegate = ResponseAccumulator(request: outgoing, maxBodySize: Int(request.max_response_bytes))
            let deadline = NIODeadline.now() + .milliseconds(Int64(request.timeout_ms))
            let response = try client.execute(request: outgoing, delegate: delegate, deadline: deadline).futureResult.wait()
            kjs_fetch_result_set_status(result, Int32(response.status.code))
            for header in response.headers {
                kjs_fetch_result_add_header(result, header.name, header.name.utf8.count, header.value, header.value.utf8.count)
            }
            if let body = response.body {
                body.withUnsafeReadableBytes { bytes in
                    kjs_fetch_result_append_body(result, bytes.baseAddress?.assumingMemoryBound(to: CChar.self), bytes.count)
                }
            }
        } catch {
            let message = Self.describe(error, url: url)
            kjs_fetch_result_fail(result, message, message.utf8.count)
        }
    }

    /// A message safe to show to the transformation: no headers, bodies or credentials.
    private static func describe(_ error: Error, url: String) -> String {
        let host = URL(string: url)?.host ?? "the host"
        switch error {
        case let failure as FetchFailure:
            return failure.message
        case is ResponseAccumulator.ResponseTooBigError:
            return "fetch response exceeds the size limit"
        case is NIOSSLError, is NIOSSLExtraError, is BoringSSLError:
            return "TLS handshake with \(host) failed (certificate not trusted, expired or not for this host)"
        case let error as HTTPClientError:
            if [.deadlineExceeded, .readTimeout, .connectTimeout, .writeTimeout].contains(error) { return "fetch timed out" }
            if [.invalidURL, .emptyHost, .emptyScheme].contains(error) { return "malformed URL" }
            return "the request to \(host) failed (\(error))"
        default:
            if String(describing: type(of: error)).contains("Connect") {
                return "could not connect to \(host)"
            }
            return "the request to \(host) failed (\(type(of: error)))"
        }
    }
}

import Foundation
import Glibc

/// A minimal HTTP/1.1 server on 127.0.0.1 for fetch tests: answers every request with a JSON echo
/// of its method, path, body and X-Test header, then closes the connection.
final class TestHTTPServer: @unchecked Sendable {
    let port: Int
    private let listener: Int32
    private let thread: Thread

    init() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
        }
        guard bound == 0, listen(fd, 16) == 0 else { throw POSIXError(.EADDRINUSE) }
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        listener = fd
        port = Int(UInt16(bigEndian: address.sin_port))
        thread = Thread {
            while true {
                let client = accept(fd, nil, nil)
                if client < 0 { return }
                Self.handle(client)
                close(client)
            }
        }
        thread.start()
    }

    func stop() {
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
    }

    private static func handle(_ client: Int32) {
        var request: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        var headerEnd: Int?
        var contentLength = 0
        while true {
            if let end = headerEnd, request.count >= end + 4 + contentLength { break }
            let n = recv(client, &buffer, buffer.count, 0)
            if n <= 0 { return }
            request += buffer[0..<n]
            if headerEnd == nil, let range = String(decoding: request, as: UTF8.self).range(of: "\r\n\r\n") {
                let head = String(decoding: request, as: UTF8.self)[..<range.lowerBound]
                headerEnd = head.utf8.count
                for line in head.split(separator: "\r\n") where line.lowercased().hasPrefix("content-length:") {
                    contentLength = Int(line.split(separator: ":")[1].trimmingCharacters(in: .whitespaces)) ?? 0
                }
            }
        }
        let text = String(decoding: request, as: UTF8.self)
        let head = text.components(separatedBy: "\r\n\r\n")[0]
        let lines = head.components(separatedBy: "\r\n")
        let parts = lines[0].split(separator: " ")
        let xTest = lines.first { $0.lowercased().hasPrefix("x-test:") }.map { String($0.dropFirst(7)).trimmingCharacters(in: .whitespaces) }
        let body = String(decoding: request[(headerEnd! + 4)...], as: UTF8.self)
        let json: [String: Any] = ["method": String(parts[0]), "path": String(parts[1]), "body": body, "xTest": xTest ?? ""]
        let payload = try! JSONSerialization.data(withJSONObject: json)
        let response = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: \(payload.count)\r\n\r\n"
        let all = Array(response.utf8) + Array(payload)
        _ = all.withUnsafeBytes { send(client, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    }
}

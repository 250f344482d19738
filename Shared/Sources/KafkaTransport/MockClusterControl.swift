#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import Synchronization

/// The dev broker's control protocol: one command per line, answered by one line, `ok` or
/// `error <reason>`.
///
/// ```
/// broker-down <id>                              take broker <id> down (-1: all)
/// broker-up <id>                                bring it back (-1: all)
/// request-errors <apiKey> <errorCode> [count]   fail the next <count> (1) requests of <apiKey>
/// create-topic <name> <partitions>              create a topic
/// ping                                          answers ok
/// ```
public enum MockClusterControl {
    /// Executes one command line against `cluster` and returns the answer (without newline).
    public static func execute(_ line: String, on cluster: MockKafkaCluster) -> String {
        let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" }).map(String.init)
        guard let command = words.first else { return "error empty command" }
        let arguments = Array(words.dropFirst())
        do {
            switch command {
            case "ping":
                return "ok"
            case "broker-down", "broker-up":
                guard arguments.count == 1, let id = Int32(arguments[0]) else { return "error usage: \(command) <id>" }
                let down = command == "broker-down"
                if id == -1 {
                    if down { cluster.allBrokersDown() } else { cluster.allBrokersUp() }
                } else {
                    guard cluster.brokerIDs.contains(id) else { return "error unknown broker \(id)" }
                    if down { try cluster.brokerDown(id) } else { try cluster.brokerUp(id) }
                }
                return "ok"
            case "request-errors":
                guard (2...3).contains(arguments.count), let apiKey = Int16(arguments[0]), let code = Int32(arguments[1]),
                    let count = arguments.count == 3 ? Int(arguments[2]) : 1, (1...100_000).contains(count)
                else { return "error usage: request-errors <apiKey> <errorCode> [count]" }
                cluster.pushRequestErrors(apiKey: apiKey, errors: Array(repeating: code, count: count))
                return "ok"
            case "create-topic":
                guard arguments.count == 2, let partitions = Int(arguments[1]), (1...10_000).contains(partitions) else {
                    return "error usage: create-topic <name> <partitions>"
                }
                try cluster.createTopic(
                    arguments[0], partitions: partitions, replicationFactor: min(3, cluster.brokerIDs.count))
                return "ok"
            default:
                return "error unknown command \(command)"
            }
        } catch {
            return "error \(error.reason)"
        }
    }
}

/// Serves ``MockClusterControl`` on a loopback TCP port, one thread per connection (at most 16).
public final class MockClusterControlServer: Sendable {
    /// The port it listens on (useful when asked for port 0).
    public let port: UInt16
    private let listener: Int32
    private let connections = Mutex<Set<Int32>>([])
    private let stopped = Atomic<Bool>(false)
    private static let maxConnections = 16

    /// Listens on 127.0.0.1:`port` (0: any free port).
    public init(cluster: MockKafkaCluster, port: UInt16 = 0) throws(KafkaError) {
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard listener >= 0 else { throw Self.socketError("socket") }
        var yes: Int32 = 1
        setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(listener, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard bound == 0, listen(listener, 16) == 0 else {
            close(listener)
            throw Self.socketError("bind 127.0.0.1:\(port)")
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(listener, $0, &length) }
        }
        self.port = UInt16(bigEndian: address.sin_port)
        self.listener = listener
        let thread = Thread { [self] in acceptLoop(cluster: cluster) }
        thread.name = "keel-dev-kafka-control"
        thread.start()
    }

    /// Stops accepting and closes open connections.
    public func stop() {
        guard !stopped.exchange(true, ordering: .acquiringAndReleasing) else { return }
        // shutdown() wakes the blocked accept() and read() calls; their threads close the sockets.
        shutdown(listener, Int32(SHUT_RDWR))
        for connection in connections.withLock({ $0 }) { shutdown(connection, Int32(SHUT_RDWR)) }
    }

    deinit { stop() }

    private func acceptLoop(cluster: MockKafkaCluster) {
        defer { close(listener) }
        while !stopped.load(ordering: .acquiring) {
            let connection = accept(listener, nil, nil)
            if connection < 0 {
                if errno == EINTR { continue }
                return
            }
            let admitted = connections.withLock { connections in
                guard connections.count < Self.maxConnections else { return false }
                connections.insert(connection)
                return true
            }
            guard admitted else {
                Self.write("error too many connections\n", to: connection)
                close(connection)
                continue
            }
            let thread = Thread { [self] in serve(connection, cluster: cluster) }
            thread.start()
        }
    }

    private func serve(_ connection: Int32, cluster: MockKafkaCluster) {
        defer {
            connections.withLock { _ = $0.remove(connection) }
            close(connection)
        }
        var pending: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(connection, $0.baseAddress, $0.count) }
            if count < 0, errno == EINTR { continue }
            guard count > 0 else { return }
            pending += buffer[0..<count]
            while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                let line = String(decoding: pending[..<newline], as: UTF8.self)
                pending.removeSubrange(...newline)
                if line.trimmingCharacters(in: .whitespaces).isEmpty { continue }
                guard Self.write(MockClusterControl.execute(line, on: cluster) + "\n", to: connection) else { return }
            }
            if pending.count > 4096 {
                Self.write("error line too long\n", to: connection)
                return
            }
        }
    }

    @discardableResult
    private static func write(_ text: String, to connection: Int32) -> Bool {
        var bytes = Array(text.utf8)[...]
        while !bytes.isEmpty {
            let written = bytes.withUnsafeBytes { send(connection, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if written < 0, errno == EINTR { continue }
            guard written > 0 else { return false }
            bytes = bytes.dropFirst(written)
        }
        return true
    }

    private static func socketError(_ context: String) -> KafkaError {
        KafkaError(
            code: .other, isRetryable: false, context: "control server \(context)",
            reason: String(cString: strerror(errno)))
    }
}

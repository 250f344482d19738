import Foundation
import KafkaTransport
import XCTest

#if canImport(Glibc)
import Glibc
#endif

final class AdminAndDevBrokerTests: XCTestCase {
    /// Against the mock cluster (no controller) createTopics falls back to auto-creation;
    /// existing topics are left alone; listTopics reports partition counts.
    func testAdminCreatesMissingTopicsAndListsThem() async throws {
        let cluster = try MockKafkaCluster(brokers: 3, logger: TestKafka.logger)
        try cluster.createTopic("existing", partitions: 6)
        let admin = try KafkaAdmin(
            configuration: KafkaAdmin.Configuration(bootstrapServers: cluster.bootstrapServers), logger: TestKafka.logger)
        try await admin.createTopics([(name: "existing", partitions: 2, replicationFactor: 1), (name: "fresh", partitions: 6, replicationFactor: 1)])
        let topics = try await admin.listTopics()
        XCTAssertEqual(topics["existing"], 6)
        XCTAssertNotNil(topics["fresh"])
    }

    /// The control protocol drives the cluster: topics appear, brokers go down and up, bad
    /// commands get an error line.
    func testControlProtocolOverTCP() async throws {
        let cluster = try MockKafkaCluster(brokers: 3, logger: TestKafka.logger)
        let server = try MockClusterControlServer(cluster: cluster)
        defer { server.stop() }
        let connection = try LineConnection(port: server.port)
        XCTAssertEqual(try connection.request("ping"), "ok")
        XCTAssertEqual(try connection.request("create-topic controlled 5"), "ok")
        XCTAssertTrue(try connection.request("create-topic controlled 5").hasPrefix("error"))
        XCTAssertEqual(try connection.request("broker-down 2"), "ok")
        XCTAssertEqual(try connection.request("broker-up 2"), "ok")
        XCTAssertTrue(try connection.request("broker-down 9").hasPrefix("error"))
        XCTAssertEqual(try connection.request("request-errors 0 7 2"), "ok")
        XCTAssertTrue(try connection.request("frobnicate").hasPrefix("error unknown command"))

        let admin = try KafkaAdmin(
            configuration: KafkaAdmin.Configuration(bootstrapServers: cluster.bootstrapServers), logger: TestKafka.logger)
        let topics = try await admin.listTopics()
        XCTAssertEqual(topics["controlled"], 5)
        // The injected errors are answered like a real broker would; the idempotent producer
        // retries them and the message is still delivered.
        let producer = try KafkaProducer(configuration: TestKafka.producerConfiguration(cluster), logger: TestKafka.logger)
        try await producer.send(TestKafka.message("controlled", key: "k", value: "v"))
    }

    /// The built `keel-dev-kafka` binary starts, serves Kafka and its control port, writes the
    /// bootstrap file and exits cleanly on SIGTERM.
    func testDevBrokerExecutable() async throws {
        let binary = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
            .appendingPathComponent("keel-dev-kafka")
        guard FileManager.default.isExecutableFile(atPath: binary.path) else {
            throw XCTSkip("keel-dev-kafka is not built next to the test bundle (\(binary.path))")
        }
        let bootstrapFile = FileManager.default.temporaryDirectory.appendingPathComponent(TestKafka.uniqueName("bootstrap"))
        let process = Process()
        process.executableURL = binary
        process.arguments = [
            "--brokers", "2", "--partitions", "3", "--topics", "t1,t2", "--bootstrap-file", bootstrapFile.path,
            "--control-port", "0",
        ]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        defer { if process.isRunning { process.terminate() } }

        var lines: [String: String] = [:]
        var pending = Data()
        let handle = output.fileHandleForReading
        while lines["control"] == nil {
            let chunk = handle.availableData
            guard !chunk.isEmpty else { break }
            pending += chunk
            for line in String(decoding: pending, as: UTF8.self).split(separator: "\n") {
                let parts = line.split(separator: "=", maxSplits: 1).map(String.init)
                if parts.count == 2 { lines[parts[0]] = parts[1] }
            }
        }
        let bootstrap = try XCTUnwrap(lines["bootstrap"])
        XCTAssertEqual(try String(contentsOf: bootstrapFile, encoding: .utf8).trimmingCharacters(in: .newlines), bootstrap)
        let port = try XCTUnwrap(lines["control"].flatMap { $0.split(separator: ":").last }.flatMap { UInt16($0) })
        let connection = try LineConnection(port: port)
        XCTAssertEqual(try connection.request("ping"), "ok")
        XCTAssertEqual(try connection.request("create-topic t3 2"), "ok")

        let admin = try KafkaAdmin(configuration: KafkaAdmin.Configuration(bootstrapServers: bootstrap), logger: TestKafka.logger)
        let topics = try await admin.listTopics()
        XCTAssertEqual(topics["t1"], 3)
        XCTAssertEqual(topics["t2"], 3)
        XCTAssertEqual(topics["t3"], 2)
        let producer = try KafkaProducer(
            configuration: KafkaProducer.Configuration(bootstrapServers: bootstrap), logger: TestKafka.logger)
        try await producer.send(TestKafka.message("t1", key: "k", value: "v"))

        process.terminate()  // SIGTERM
        let deadline = Date().addingTimeInterval(10)
        while process.isRunning, Date() < deadline { try await Task.sleep(for: .milliseconds(50)) }
        XCTAssertFalse(process.isRunning, "did not exit on SIGTERM")
        XCTAssertEqual(process.terminationStatus, 0)
        XCTAssertFalse(FileManager.default.fileExists(atPath: bootstrapFile.path), "bootstrap file left behind")
    }

    /// Messages produced by Keel are readable by kcat (plain Kafka protocol, lz4, headers).
    func testKcatReadsWhatWeProduce() async throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/kcat") else { throw XCTSkip("kcat not installed") }
        let cluster = try MockKafkaCluster(brokers: 1, logger: TestKafka.logger)
        try cluster.createTopic("interop", partitions: 1)
        let producer = try KafkaProducer(configuration: TestKafka.producerConfiguration(cluster), logger: TestKafka.logger)
        try await producer.send((0..<3).map { TestKafka.message("interop", key: "k\($0)", value: "v\($0)") })
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/kcat")
        process.arguments = ["-b", cluster.bootstrapServers, "-C", "-t", "interop", "-o", "beginning", "-e", "-q", "-f", "%k=%s\\n"]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        XCTAssertEqual(String(decoding: data, as: UTF8.self), "k0=v0\nk1=v1\nk2=v2\n")
    }
}

/// A blocking line-based TCP client for the control protocol (tests only; loopback).
final class LineConnection {
    private let socketFD: Int32
    private var pending: [UInt8] = []

    init(port: UInt16) throws {
        socketFD = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(socketFD, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard result == 0 else { throw POSIXError(.ECONNREFUSED) }
    }

    deinit { close(socketFD) }

    func request(_ line: String) throws -> String {
        let bytes = Array((line + "\n").utf8)
        guard bytes.withUnsafeBytes({ send(socketFD, $0.baseAddress, $0.count, 0) }) == bytes.count else {
            throw POSIXError(.EPIPE)
        }
        var buffer = [UInt8](repeating: 0, count: 512)
        while !pending.contains(UInt8(ascii: "\n")) {
            let count = buffer.withUnsafeMutableBytes { recv(socketFD, $0.baseAddress, $0.count, 0) }
            guard count > 0 else { throw POSIXError(.ECONNRESET) }
            pending += buffer[0..<count]
        }
        let newline = pending.firstIndex(of: UInt8(ascii: "\n"))!
        defer { pending.removeSubrange(...newline) }
        return String(decoding: pending[..<newline], as: UTF8.self)
    }
}

// keel-dev-kafka: the development broker. librdkafka's mock cluster, in memory, on loopback.
// For local runs and tests only; production uses a real Kafka cluster (KAFKA_BROKERS).
import ArgumentParser
import Foundation
import KafkaTransport
import Logging

#if canImport(Glibc)
import Glibc
#endif

struct DevKafka: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keel-dev-kafka",
        abstract: "Development Kafka broker on librdkafka's mock cluster (in memory; not for production).",
        discussion: """
            Prints `bootstrap=<list>` (and `control=127.0.0.1:<port>` with --control-port) on stdout \
            once ready. Control commands, one per line, answered `ok` or `error ...`: \
            broker-down <id>, broker-up <id>, request-errors <apiKey> <errorCode> [count], \
            create-topic <name> <partitions>, ping. Exits on SIGTERM or SIGINT.
            """)

    @Option(help: "Number of brokers.")
    var brokers: Int = 3

    @Option(help: "Partitions of the topics given with --topics.")
    var partitions: Int = 6

    @Option(name: .customLong("bootstrap-file"), help: "Write the bootstrap server list to this file.")
    var bootstrapFile: String?

    @Option(name: .customLong("control-port"), help: "Serve the control protocol on 127.0.0.1:<port> (0: any).")
    var controlPort: UInt16?

    @Option(help: "Comma-separated topics to create at start.")
    var topics: String = ""

    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error, critical.")
    var logLevel: String = "warning"

    func validate() throws {
        guard (1...64).contains(brokers) else { throw ValidationError("--brokers must be between 1 and 64") }
        guard (1...10_000).contains(partitions) else { throw ValidationError("--partitions must be positive") }
    }

    func run() throws {
        // Block the signals before any thread exists, so every thread inherits the mask and
        // sigwait below is the one place that receives them.
        var signals = sigset_t()
        sigemptyset(&signals)
        sigaddset(&signals, SIGTERM)
        sigaddset(&signals, SIGINT)
        pthread_sigmask(SIG_BLOCK, &signals, nil)

        var logger = Logger(label: "keel.dev-kafka")
        logger.logLevel = Logger.Level(rawValue: logLevel) ?? .warning
        let cluster = try MockKafkaCluster(brokers: brokers, logger: logger)
        for topic in topics.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) where !topic.isEmpty {
            try cluster.createTopic(topic, partitions: partitions, replicationFactor: min(3, brokers))
        }
        let control = try controlPort.map { port throws(KafkaError) in
            try MockClusterControlServer(cluster: cluster, port: port)
        }
        if let bootstrapFile {
            try (cluster.bootstrapServers + "\n").write(toFile: bootstrapFile, atomically: true, encoding: .utf8)
        }
        print("bootstrap=\(cluster.bootstrapServers)")
        if let control { print("control=127.0.0.1:\(control.port)") }
        fflush(nil)

        var received: Int32 = 0
        sigwait(&signals, &received)
        logger.info("keel-dev-kafka stopping", metadata: ["signal": "\(received)"])
        control?.stop()
        if let bootstrapFile { try? FileManager.default.removeItem(atPath: bootstrapFile) }
        withExtendedLifetime(cluster) {}
    }
}

LoggingSystem.bootstrap { label in
    var handler = StreamLogHandler.standardError(label: label)
    handler.logLevel = .trace
    return handler
}
DevKafka.main()

import Logging
import ServiceRuntime
import XCTest

final class RuntimeConfigurationTests: XCTestCase {
    func testDefaultsAreTheDocumentedOnes() throws {
        let configuration = try RuntimeConfiguration(service: .batchRouter, environment: [:])
        XCTAssertEqual(configuration.adminHost, "0.0.0.0")
        XCTAssertEqual(configuration.adminPort, 9184)
        XCTAssertEqual(configuration.logLevel, .info)
        XCTAssertEqual(configuration.logFormat, .json)
        XCTAssertEqual(configuration.databaseURL, "postgres://keel@127.0.0.1:5432/keel")
        XCTAssertEqual(configuration.kafkaBrokers, "127.0.0.1:9092")
        XCTAssertEqual(configuration.topicPrefix, "keel.")
        XCTAssertEqual(configuration.topicPartitions, 6)
        XCTAssertNil(configuration.workspace)
        XCTAssertEqual(
            KeelService.allCases.map(\.defaultAdminPort),
            [9181, 9182, 9183, 9184, 9185, 9186]
        )
        XCTAssertEqual(KeelService.allCases.map(\.rawValue), [
            "gateway", "processor", "router", "batch-router", "extractor", "warehouse-actions",
        ])
    }

    func testEnvironmentOverridesEveryVariable() throws {
        let configuration = try RuntimeConfiguration(
            service: .router,
            environment: [
                "KEEL_ADMIN_HOST": "127.0.0.1",
                "KEEL_ADMIN_PORT": "19183",
                "KEEL_LOG_LEVEL": "DEBUG",
                "KEEL_LOG_FORMAT": "text",
                "KEEL_DATABASE_URL": "postgres://keel:s3cret@db:5432/keel",
                "KAFKA_BROKERS": "k1:9092,k2:9092",
                "KEEL_TOPIC_PREFIX": "staging.",
                "KEEL_TOPIC_PARTITIONS": "12",
                "KEEL_WORKSPACE": "acme",
            ]
        )
        XCTAssertEqual(
            configuration,
            RuntimeConfiguration(
                service: .router,
                adminHost: "127.0.0.1",
                adminPort: 19183,
                logLevel: .debug,
                logFormat: .text,
                databaseURL: "postgres://keel:s3cret@db:5432/keel",
                kafkaBrokers: "k1:9092,k2:9092",
                topicPrefix: "staging.",
                topicPartitions: 12,
                workspace: "acme"
            )
        )
        XCTAssertEqual(configuration.redactedDatabaseURL, "postgres://keel:***@db:5432/keel")
    }

    func testEmptyValuesKeepDefaultsButAnEmptyTopicPrefixIsHonoured() throws {
        let configuration = try RuntimeConfiguration(
            service: .gateway,
            environment: ["KEEL_ADMIN_PORT": "", "KEEL_LOG_LEVEL": " ", "KEEL_TOPIC_PREFIX": ""]
        )
        XCTAssertEqual(configuration.adminPort, 9181)
        XCTAssertEqual(configuration.logLevel, .info)
        XCTAssertEqual(configuration.topicPrefix, "")
    }

    func testMalformedValuesNameTheVariable() {
        let cases: [(String, String)] = [
            ("KEEL_ADMIN_PORT", "http"),
            ("KEEL_ADMIN_PORT", "70000"),
            ("KEEL_LOG_LEVEL", "loud"),
            ("KEEL_LOG_FORMAT", "xml"),
            ("KEEL_TOPIC_PARTITIONS", "0"),
        ]
        for (name, value) in cases {
            XCTAssertThrowsError(try RuntimeConfiguration(service: .router, environment: [name: value])) { error in
                let description = String(describing: error)
                XCTAssertTrue(description.hasPrefix(name + ":"), description)
                XCTAssertTrue(description.contains(value), description)
            }
        }
    }

    func testRejectedDatabaseURLIsNotEchoed() {
        XCTAssertThrowsError(
            try RuntimeConfiguration(service: .router, environment: ["KEEL_DATABASE_URL": "mysql://u:topsecret@h/db"])
        ) { error in
            XCTAssertFalse(String(describing: error).contains("topsecret"))
            XCTAssertTrue(String(describing: error).hasPrefix("KEEL_DATABASE_URL"))
        }
    }

    func testKafkaPropertiesPassThroughAndMalformedOnesAreRefusedWithoutEchoingValues() throws {
        let configuration = try RuntimeConfiguration(
            service: .router,
            environment: [
                "KEEL_KAFKA_CONSUMER_PROPERTIES": "fetch.wait.max.ms=10, security.protocol=SASL_SSL,sasl.password=p=w",
                "KEEL_KAFKA_PRODUCER_PROPERTIES": "compression.type=zstd",
            ])
        XCTAssertEqual(
            configuration.kafkaConsumerProperties,
            ["fetch.wait.max.ms": "10", "security.protocol": "SASL_SSL", "sasl.password": "p=w"])
        XCTAssertEqual(configuration.kafkaProducerProperties, ["compression.type": "zstd"])
        for bad in ["fetch.wait.max.ms", "=10", "Fetch.Wait=1", "sasl.password"] {
            XCTAssertThrowsError(
                try RuntimeConfiguration(service: .router, environment: ["KEEL_KAFKA_CONSUMER_PROPERTIES": bad + ",sasl.username=topsecret"])
            ) { error in
                let text = "\(error)"
                XCTAssertTrue(text.contains("KEEL_KAFKA_CONSUMER_PROPERTIES"), text)
                XCTAssertFalse(text.contains("topsecret"), text)
            }
        }
    }

    func testRedactionLeavesURLsWithoutPasswordAlone() {
        XCTAssertEqual(
            RuntimeConfiguration(service: .router, databaseURL: "postgres://keel@127.0.0.1:5432/keel").redactedDatabaseURL,
            "postgres://keel@127.0.0.1:5432/keel"
        )
        XCTAssertEqual(
            RuntimeConfiguration(service: .router, databaseURL: "postgres://u:p@ss:w@h/db?sslmode=require").redactedDatabaseURL,
            "postgres://u:***@h/db?sslmode=require"
        )
    }
}

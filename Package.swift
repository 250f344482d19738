// swift-tools-version:6.0
import PackageDescription

/// Keel: a customer data platform data plane. See README.md and docs/.
///
/// Layout: `Services/<service>/Sources/<Name>Service` (library, testable) and `<Name>App`
/// (executable, named after the service); `Shared/Sources/*` holds what services share;
/// `Tools/keel` is the command-line tool; `deploy/dev-kafka` the development broker.

let hummingbird: Target.Dependency = .product(name: "Hummingbird", package: "hummingbird")
let postgres: Target.Dependency = .product(name: "PostgresNIO", package: "postgres-nio")
let logging: Target.Dependency = .product(name: "Logging", package: "swift-log")
let metrics: Target.Dependency = .product(name: "Metrics", package: "swift-metrics")
let lifecycle: Target.Dependency = .product(name: "ServiceLifecycle", package: "swift-service-lifecycle")
let argumentParser: Target.Dependency = .product(name: "ArgumentParser", package: "swift-argument-parser")
let httpClient: Target.Dependency = .product(name: "AsyncHTTPClient", package: "async-http-client")
let nioCore: Target.Dependency = .product(name: "NIOCore", package: "swift-nio")

/// Every service is a library `<Name>Service` plus an executable named after the service.
func service(_ binary: String, _ name: String, dependencies: [Target.Dependency]) -> [Target] {
    [
        .target(
            name: "\(name)Service",
            dependencies: dependencies,
            path: "Services/\(binary)/Sources/\(name)Service"
        ),
        // The app lists the service's dependencies too: its main.swift imports some of them
        // (KafkaTransport, Storage …), and an incremental release build did not recompile it
        // after a struct in such a transitively reached module changed (the binary crashed).
        .executableTarget(
            name: "\(name)App",
            dependencies: [.target(name: "\(name)Service")] + dependencies,
            path: "Services/\(binary)/Sources/\(name)App"
        ),
    ]
}

let serviceBase: [Target.Dependency] = [
    "EventModel", "KafkaTransport", "Storage", "WorkspaceConfig", "ServiceRuntime", lifecycle, logging, metrics,
]

let package = Package(
    name: "keel",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "gateway", targets: ["GatewayApp"]),
        .executable(name: "processor", targets: ["ProcessorApp"]),
        .executable(name: "router", targets: ["RouterApp"]),
        .executable(name: "batch-router", targets: ["BatchRouterApp"]),
        .executable(name: "extractor", targets: ["ExtractorApp"]),
        .executable(name: "warehouse-actions", targets: ["WarehouseActionsApp"]),
        .executable(name: "keel", targets: ["KeelCLI"]),
        .executable(name: "transformations-benchmark", targets: ["TransformationsBenchmark"]),
        .executable(name: "keel-transform-worker", targets: ["TransformWorker"]),
        .executable(name: "json-bench", targets: ["JSONBench"]),
        .executable(name: "router-bench", targets: ["RouterBenchmark"]),
        .executable(name: "processor-bench", targets: ["ProcessorBenchmark"]),
        .executable(name: "batch-router-bench", targets: ["BatchRouterBenchmark"]),
        .executable(name: "e2e-bench", targets: ["EndToEndBenchmark"]),
        .executable(name: "keel-dev-kafka", targets: ["DevKafka"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
    ],
    targets: [
        // MARK: Shared
        .target(name: "EventModel", path: "Shared/Sources/EventModel"),
        .systemLibrary(
            name: "CRdKafka",
            path: "Shared/Sources/CRdKafka",
            pkgConfig: "rdkafka",
            providers: [.apt(["librdkafka-dev"])]
        ),
        .target(name: "AsyncSignals", path: "Shared/Sources/AsyncSignals"),
        .target(
            name: "KafkaTransport",
            dependencies: ["CRdKafka", "AsyncSignals", lifecycle, logging, metrics],
            path: "Shared/Sources/KafkaTransport"
        ),
        .target(
            name: "Storage",
            dependencies: ["AsyncSignals", postgres, lifecycle, logging],
            path: "Shared/Sources/Storage"
        ),
        .target(
            name: "StorageTesting",
            dependencies: ["Storage", postgres, logging],
            path: "Shared/Sources/StorageTesting"
        ),
        .target(
            name: "HTTPTestServer",
            dependencies: [hummingbird, logging, nioCore],
            path: "Shared/Sources/HTTPTestServer"
        ),
        .target(
            name: "WorkspaceConfig",
            dependencies: ["EventModel", "Storage", .product(name: "Yams", package: "Yams"), postgres, lifecycle, logging],
            path: "Shared/Sources/WorkspaceConfig"
        ),
        .target(
            name: "ServiceRuntime",
            dependencies: [
                hummingbird, lifecycle, logging, metrics,
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ],
            path: "Shared/Sources/ServiceRuntime"
        ),
        .target(name: "Warehouse", dependencies: ["EventModel"], path: "Shared/Sources/Warehouse"),
        .target(
            name: "WarehousePostgres",
            dependencies: ["Warehouse", "Storage", postgres, nioCore, .product(name: "NIOPosix", package: "swift-nio"), logging],
            path: "Shared/Sources/WarehousePostgres"
        ),
        .target(
            name: "WarehouseSnowflake",
            dependencies: [
                "Warehouse", "ObjectStorage", "EventModel", "WorkspaceConfig", httpClient, nioCore, logging,
                .product(name: "Crypto", package: "swift-crypto"), .product(name: "_CryptoExtras", package: "swift-crypto"),
            ],
            path: "Shared/Sources/WarehouseSnowflake"
        ),
        .target(
            name: "ObjectStorage",
            dependencies: [httpClient, nioCore, .product(name: "NIOHTTP1", package: "swift-nio"), .product(name: "Crypto", package: "swift-crypto")],
            path: "Shared/Sources/ObjectStorage"
        ),
        .target(
            name: "Destinations",
            dependencies: ["EventModel", "WorkspaceConfig"],
            path: "Shared/Sources/Destinations"
        ),
        .target(
            name: "JSEngineShim",
            path: "Shared/Sources/JSEngineShim",
            cxxSettings: [.unsafeFlags(["-std=c++17", "-isystem", "/usr/include/mozjs-102", "-UDEBUG", "-fno-rtti", "-fno-exceptions"])],
            linkerSettings: [.linkedLibrary("mozjs-102"), .linkedLibrary("stdc++")]
        ),
        .target(
            name: "Transformations",
            dependencies: [
                "JSEngineShim", .product(name: "Crypto", package: "swift-crypto"), httpClient, nioCore,
                .product(name: "NIOHTTP1", package: "swift-nio"), .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            path: "Shared/Sources/Transformations"
        ),
        .executableTarget(
            name: "TransformWorker",
            dependencies: ["Transformations"],
            path: "Shared/Sources/TransformWorker"
        ),

        // MARK: Services
        .systemLibrary(
            name: "CZlib",
            path: "Services/gateway/Sources/CZlib",
            pkgConfig: "zlib",
            providers: [.apt(["zlib1g-dev"])]
        ),
    ]
        + service("gateway", "Gateway", dependencies: serviceBase + [hummingbird, nioCore, "CZlib"])
        + service("processor", "Processor", dependencies: serviceBase + ["Transformations", "Destinations"])
        + service("router", "Router", dependencies: serviceBase + ["AsyncSignals", "Destinations", httpClient, hummingbird, nioCore, .product(name: "NIOHTTP1", package: "swift-nio"), .product(name: "Crypto", package: "swift-crypto")])
        + service(
            "batch-router", "BatchRouter",
            dependencies: serviceBase + [
                "ObjectStorage", "Warehouse", "WarehousePostgres", "WarehouseSnowflake", "Destinations", "CZlib", httpClient, postgres, nioCore,
            ]
        )
        + service("extractor", "Extractor", dependencies: serviceBase)
        + service("warehouse-actions", "WarehouseActions", dependencies: serviceBase)
        + [
            // MARK: Tools
            .executableTarget(
                name: "KeelCLI",
                dependencies: ["WorkspaceConfig", "Storage", "Destinations", "EventModel", "Transformations", "RouterService", argumentParser, logging],
                path: "Tools/keel/Sources/KeelCLI"
            ),
            .executableTarget(
                name: "DevKafka",
                dependencies: ["KafkaTransport", argumentParser, logging],
                path: "deploy/dev-kafka/Sources/DevKafka"
            ),

            // MARK: Benchmarks
            .executableTarget(name: "JSONBench", dependencies: ["EventModel"], path: "Benchmarks/JSONBench"),
            .executableTarget(
                name: "BatchRouterBenchmark",
                dependencies: [
                    "BatchRouterService", "Warehouse", "WarehousePostgres", "ObjectStorage", "EventModel", "KafkaTransport", "Storage",
                    httpClient, postgres, logging,
                ],
                path: "Benchmarks/batch-router/Sources/BatchRouterBenchmark"
            ),
            .executableTarget(
                name: "RouterBenchmark",
                dependencies: ["RouterService", "KafkaTransport", "EventModel", "Storage", hummingbird, httpClient, postgres, logging],
                path: "Benchmarks/router/Sources/RouterBenchmark"
            ),
            .executableTarget(
                name: "EndToEndBenchmark",
                dependencies: ["EventModel", hummingbird, httpClient, logging],
                path: "Benchmarks/e2e/Sources/EndToEndBenchmark"
            ),

            // MARK: Tests
            .testTarget(name: "EventModelTests", dependencies: ["EventModel"]),
            .testTarget(name: "TransformationsTests", dependencies: ["Transformations", "TransformWorker", "WorkspaceConfig"]),
            .executableTarget(
                name: "TransformationsBenchmark",
                dependencies: ["Transformations"],
                path: "Benchmarks/transformations/Sources/TransformationsBenchmark"
            ),
            .testTarget(name: "WarehouseTests", dependencies: ["Warehouse", "EventModel"]),
            .testTarget(
                name: "BatchRouterTests",
                dependencies: [
                    "BatchRouterService", "Warehouse", "WarehousePostgres", "ObjectStorage", "KafkaTransport", "EventModel",
                    "Storage", "StorageTesting", "WorkspaceConfig", "ServiceRuntime", httpClient, postgres, logging, lifecycle,
                ]
            ),
            .testTarget(name: "ObjectStorageTests", dependencies: ["ObjectStorage", httpClient]),
            .testTarget(
                name: "SnowflakeTests",
                dependencies: [
                    "WarehouseSnowflake", "Warehouse", "ObjectStorage", "EventModel", "HTTPTestServer", httpClient, hummingbird, logging,
                    .product(name: "Crypto", package: "swift-crypto"), .product(name: "_CryptoExtras", package: "swift-crypto"),
                ]
            ),
            .testTarget(
                name: "KafkaTransportTests",
                dependencies: ["KafkaTransport", .product(name: "MetricsTestKit", package: "swift-metrics")]
            ),
            .executableTarget(
                name: "ProcessorBenchmark",
                dependencies: [
                    "ProcessorService", "Destinations", "EventModel", "KafkaTransport", "Storage", "WorkspaceConfig", postgres, logging,
                    lifecycle, metrics, .product(name: "MetricsTestKit", package: "swift-metrics"),
                ],
                path: "Benchmarks/processor/Sources/ProcessorBenchmark"
            ),
            .testTarget(name: "DestinationsTests", dependencies: ["Destinations", "EventModel"], exclude: ["Fixtures"]),
            .testTarget(
                name: "ProcessorTests",
                dependencies: [
                    "ProcessorService", "Destinations", "EventModel", "KafkaTransport", "Storage", "StorageTesting",
                    "WorkspaceConfig", postgres, logging, lifecycle, metrics,
                    .product(name: "MetricsTestKit", package: "swift-metrics"),
                ]
            ),
            .testTarget(name: "StorageTests", dependencies: ["Storage", "StorageTesting", postgres]),
            .testTarget(name: "WorkspaceConfigTests", dependencies: ["WorkspaceConfig", "Storage", "StorageTesting", postgres]),
            .testTarget(
                name: "ServiceRuntimeTests",
                dependencies: [
                    "ServiceRuntime", hummingbird, logging, metrics,
                    .product(name: "HummingbirdTesting", package: "hummingbird"),
                ]
            ),
            .testTarget(
                name: "RouterTests",
                dependencies: [
                    "RouterService", "Destinations", "KafkaTransport", "EventModel", "Storage", "StorageTesting", "HTTPTestServer", hummingbird,
                    httpClient, nioCore,
                    .product(name: "HummingbirdTesting", package: "hummingbird"), postgres, logging, metrics,
                ]
            ),
            .testTarget(
                name: "GatewayTests",
                dependencies: [
                    "GatewayService", "KafkaTransport", "WorkspaceConfig", "EventModel", "Storage", "StorageTesting",
                    "CZlib", hummingbird, logging, metrics,
                    .product(name: "HummingbirdTesting", package: "hummingbird"),
                    .product(name: "MetricsTestKit", package: "swift-metrics"),
                ],
                resources: [.copy("Resources")]
            ),
            .testTarget(
                name: "EndToEndTests",
                dependencies: [
                    "GatewayService", "ProcessorService", "RouterService", "Destinations", "EventModel", "KafkaTransport",
                    "Storage", "StorageTesting", "HTTPTestServer", "WorkspaceConfig", hummingbird, httpClient, nioCore, postgres, logging,
                    lifecycle,
                ]
            ),
        ]
)

// Every executable (services, tools, benchmarks) and the test bundle run on jemalloc (Debian's
// libjemalloc-dev). glibc's malloc sends each ~1 KB delivery job and librdkafka message buffer
// (above its 1,032-byte tcache limit) through the locked bins, consolidation and heap trimming:
// ~12 % of the processor's CPU. With jemalloc the processor benchmark ran 1.17× faster and the
// router's 1.12× (docs/benchmarks.md, "Allocator"). Linked here, rather than preloaded, so the
// binaries, the tests and the container image all use the same allocator; `MemoryAllocator`
// (ServiceRuntime) reports which one a process got.
for target in package.targets where target.type == .executable || target.type == .test {
    target.linkerSettings = (target.linkerSettings ?? []) + [.linkedLibrary("jemalloc")]
}

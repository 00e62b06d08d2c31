// swift-tools-version: 6.1
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "Tidemark",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "tidemark", targets: ["tidemark"]),
        // For the micro-benchmarks in Benchmarks/, a package of their own so that the test
        // command never builds the benchmark harness.
        .library(name: "TidemarkEvents", targets: ["TidemarkEvents"]),
        .library(name: "TidemarkPipelines", targets: ["TidemarkPipelines"]),
        .library(name: "TidemarkRawLog", targets: ["TidemarkRawLog"]),
        .library(name: "TidemarkSpeed", targets: ["TidemarkSpeed"]),
        .library(name: "TidemarkGenerator", targets: ["TidemarkGenerator"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.34.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/adam-fowler/compress-nio.git", from: "1.5.0"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.5.2"),
        .package(url: "https://github.com/apple/swift-configuration.git", from: "1.4.0", traits: ["YAML"]),
        .package(url: "https://github.com/apple/swift-system.git", from: "1.8.1"),
    ],
    targets: [
        // Events, validation and the wire format: pure values, no I/O.
        .target(
            name: "TidemarkEvents",
            swiftSettings: swiftSettings
        ),
        // Pipelines/*.yaml: view definitions, and their evaluation in Swift (partial
        // aggregates that merge exactly). Pure values, no I/O but reading the files.
        .target(
            name: "TidemarkPipelines",
            dependencies: ["TidemarkEvents", .product(name: "Yams", package: "Yams")],
            swiftSettings: swiftSettings
        ),
        // The immutable, seq-ordered raw log in PostgreSQL, and the schema migrations.
        .target(
            name: "TidemarkRawLog",
            dependencies: [
                "TidemarkEvents",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // tidemark batch run: compiles each view to SQL and recomputes it inside PostgreSQL.
        .target(
            name: "TidemarkBatch",
            dependencies: [
                "TidemarkPipelines",
                "TidemarkRawLog",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // The speed layer: in-memory aggregates of the raw log above each batch watermark.
        .target(
            name: "TidemarkSpeed",
            dependencies: [
                "TidemarkPipelines",
                "TidemarkBatch",
                "TidemarkEvents",
                "TidemarkRawLog",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        // Runs a private PostgreSQL cluster from the system's binaries.
        .target(
            name: "TidemarkEmbeddedPostgres",
            dependencies: [
                .product(name: "Logging", package: "swift-log")
            ],
            swiftSettings: swiftSettings
        ),
        // What every HTTP route shares: the error shape and JSON answers.
        .target(
            name: "TidemarkAPI",
            dependencies: [
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ],
            swiftSettings: swiftSettings
        ),
        // POST /v1/events: body decoding, the group-commit queue and its writer.
        .target(
            name: "TidemarkIngest",
            dependencies: [
                "TidemarkAPI",
                "TidemarkEvents",
                "TidemarkRawLog",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOFoundationEssentialsCompat", package: "swift-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "CompressNIO", package: "compress-nio"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        // The serving layer: merged answers (batch at W + speed above W), JSON and CSV.
        .target(
            name: "TidemarkServing",
            dependencies: [
                "TidemarkAPI",
                "TidemarkBatch",
                "TidemarkEvents",
                "TidemarkPipelines",
                "TidemarkRawLog",
                "TidemarkSpeed",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // Reorder points, stock alerts (evaluated on merged stock) and their signed webhooks.
        .target(
            name: "TidemarkAlerts",
            dependencies: [
                "TidemarkAPI",
                "TidemarkEvents",
                "TidemarkPipelines",
                "TidemarkRawLog",
                "TidemarkServing",
                "TidemarkSpeed",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOFoundationEssentialsCompat", package: "swift-nio"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Yams", package: "Yams"),
            ],
            swiftSettings: swiftSettings
        ),
        // API keys with scopes: stored hashed, checked on every protected route.
        .target(
            name: "TidemarkAuth",
            dependencies: [
                "TidemarkAPI",
                "TidemarkRawLog",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // The dashboard and the daily report: HTML and SVG rendered here from merged answers.
        .target(
            name: "TidemarkDashboard",
            dependencies: [
                "TidemarkAPI",
                "TidemarkBatch",
                "TidemarkAuth",
                "TidemarkEvents",
                "TidemarkPipelines",
                "TidemarkRawLog",
                "TidemarkServing",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // Wires the layers into one HTTP application.
        .target(
            name: "TidemarkServer",
            dependencies: [
                "TidemarkAlerts",
                "TidemarkAuth",
                "TidemarkDashboard",
                "TidemarkAPI",
                "TidemarkEvents",
                "TidemarkIngest",
                "TidemarkPipelines",
                "TidemarkServing",
                "TidemarkSpeed",
                "TidemarkRawLog",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        // Synthetic, deterministic retail events for demos, tests and benchmarks.
        .target(
            name: "TidemarkGenerator",
            dependencies: ["TidemarkEvents"],
            swiftSettings: swiftSettings
        ),
        // Posts NDJSON files to a running server, with retries.
        .target(
            name: "TidemarkLoader",
            dependencies: [
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "CompressNIO", package: "compress-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // tidemark archive: raw events before a day to checksummed gzip NDJSON files, one per day.
        .target(
            name: "TidemarkArchive",
            dependencies: [
                "TidemarkEvents",
                "TidemarkRawLog",
                "TidemarkLoader",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "tidemark",
            dependencies: [
                "TidemarkAlerts",
                "TidemarkArchive",
                "TidemarkEvents",
                "TidemarkAuth",
                "TidemarkBatch",
                "TidemarkPipelines",
                "TidemarkRawLog",
                "TidemarkEmbeddedPostgres",
                "TidemarkServer",
                "TidemarkIngest",
                "TidemarkGenerator",
                "TidemarkLoader",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Configuration", package: "swift-configuration"),
                .product(name: "SystemPackage", package: "swift-system"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "TidemarkTestSupport",
            dependencies: [
                "TidemarkEvents",
                "TidemarkPipelines",
                "TidemarkRawLog",
                "TidemarkEmbeddedPostgres",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Tests/TidemarkTestSupport",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "TidemarkEventsTests",
            dependencies: ["TidemarkEvents", "TidemarkGenerator", "TidemarkTestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "TidemarkIngestTests",
            dependencies: [
                "TidemarkIngest", "TidemarkEvents", "TidemarkRawLog", "TidemarkTestSupport", "TidemarkAPI",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "TidemarkCommandTests",
            dependencies: ["tidemark", .product(name: "Logging", package: "swift-log")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "TidemarkRawLogTests",
            dependencies: [
                "TidemarkRawLog",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "TidemarkPipelinesTests",
            dependencies: ["TidemarkPipelines", "TidemarkEvents", "TidemarkTestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "TidemarkSpeedTests",
            dependencies: ["TidemarkSpeed", "TidemarkPipelines", "TidemarkEvents", "TidemarkRawLog", "TidemarkGenerator", "TidemarkTestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "TidemarkAlertsTests",
            dependencies: ["TidemarkAlerts", "TidemarkEvents", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "TidemarkGeneratorTests",
            dependencies: ["TidemarkGenerator", "TidemarkEvents"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "IntegrationTests",
            dependencies: [
                "TidemarkTestSupport",
                "TidemarkEmbeddedPostgres",
                "TidemarkAlerts",
                "TidemarkArchive",
                "TidemarkDashboard",
                "TidemarkServer",
                "TidemarkIngest",
                "TidemarkRawLog",
                "TidemarkEvents",
                "TidemarkGenerator",
                "TidemarkAuth",
                "TidemarkBatch",
                "TidemarkPipelines",
                "TidemarkServing",
                "TidemarkSpeed",
                "TidemarkLoader",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "CompressNIO", package: "compress-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings
        ),
    ]
)

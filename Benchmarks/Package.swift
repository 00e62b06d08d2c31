// swift-tools-version: 6.1
import PackageDescription

// Micro-benchmarks of the server's per-event work, with ordo-one/benchmark:
//   cd Benchmarks && swift package benchmark
// A package of its own (depending on Tidemark by path) so that the test command never builds
// the benchmark harness. HTTP and PostgreSQL figures come from scripts/bench-ingest.sh instead.
let package = Package(
    name: "TidemarkBenchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "Tidemark", path: ".."),
        .package(url: "https://github.com/ordo-one/benchmark.git", from: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        .executableTarget(
            name: "IngestPaths",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "TidemarkEvents", package: "Tidemark"),
                .product(name: "TidemarkPipelines", package: "Tidemark"),
                .product(name: "TidemarkRawLog", package: "Tidemark"),
                .product(name: "TidemarkSpeed", package: "Tidemark"),
                .product(name: "TidemarkGenerator", package: "Tidemark"),
            ],
            path: "Benchmarks/IngestPaths",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        )
    ]
)

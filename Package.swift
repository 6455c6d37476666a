// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "Gradeline",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "gradeline-worker", targets: ["Worker"]),
        .executable(name: "gradeline-producer", targets: ["Producer"]),
        .executable(name: "gradeline-bench", targets: ["GradelineBench"]),
        .library(name: "Core", targets: ["Core"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-protobuf", from: "1.39.0"),
        // W3C traceparent parsing and formatting (issue 12); small, needs only swift-collections.
        .package(url: "https://github.com/swift-otel/swift-w3c-trace-context", from: "1.0.0"),
        // Metrics and health (issue 12): swift-metrics with swift-prometheus as its backend, and
        // FlyingFox for the HTTP port (no dependencies; Hummingbird would bring NIO, about 3
        // minutes more of a first build on 2 cores). docs/operations.md has the measured times.
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/swhitty/FlyingFox", from: "0.27.1"),
    ],
    targets: [
        // libpng behind a small shim that owns every setjmp (libpng reports errors by longjmp).
        .target(
            name: "CPNG",
            linkerSettings: [.linkedLibrary("png16")]
        ),
        // libjpeg-turbo behind a small shim that owns every setjmp (libjpeg's error_exit must not
        // return) and keeps libjpeg's messages instead of printing them.
        .target(
            name: "CJPEG",
            linkerSettings: [.linkedLibrary("jpeg")]
        ),
        // SHA-256 from the system's OpenSSL libcrypto (already present for rabbitmq-c's TLS).
        .systemLibrary(name: "CCrypto", pkgConfig: "libcrypto"),
        .systemLibrary(name: "CMalloc"),
        // rabbitmq-c behind a shim for what Swift cannot call (variadic login, macro constants).
        .target(
            name: "CRabbitMQ",
            linkerSettings: [.linkedLibrary("rabbitmq")]
        ),
        // AMQP over rabbitmq-c: a connection owned by one thread, with an async API.
        .target(
            name: "Messaging",
            dependencies: [
                "CRabbitMQ",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // OpenBLAS's CBLAS, for transposed convolutions and the fallback convolution path.
        .systemLibrary(name: "COpenBLAS", pkgConfig: "openblas"),
        // oneDNN behind a small shim: the convolutions.
        .target(
            name: "CDNNL",
            linkerSettings: [.linkedLibrary("dnnl"), .linkedLibrary("gomp")]
        ),
        // Reads ONNX models and runs them; knows nothing of pipelines.
        .target(
            name: "Inference",
            dependencies: [
                "CDNNL",
                "COpenBLAS",
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ],
            exclude: ["Proto/onnx_subset.proto", "Proto/generate.sh"]
        ),
        .target(
            name: "Core",
            dependencies: [
                "Inference",
                "CPNG",
                "CJPEG",
                "CCrypto",
                "CMalloc",
                .product(name: "Yams", package: "Yams"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The fleet: worker service, job handling, retries, capture and replay.
        .target(
            name: "Fleet",
            dependencies: [
                "Core",
                "Messaging",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "W3CTraceContext", package: "swift-w3c-trace-context"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "FlyingFox", package: "FlyingFox"),
            ]
        ),
        .executableTarget(
            name: "Worker",
            dependencies: [
                "Core",
                "Inference",
                "Fleet",
                "Messaging",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "Producer",
            dependencies: [
                "Core",
                "Fleet",
                "Messaging",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(
            name: "GradelineBench",
            dependencies: [
                "Core",
                "Inference",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "bench/Sources/GradelineBench"
        ),
        // PNG writers for the tests, hostile files included, shared by the test targets.
        .target(
            name: "TestSupport",
            path: "Tests/TestSupport"
        ),
        .testTarget(
            name: "CoreTests",
            dependencies: ["Core", "CPNG", "CJPEG", "Inference", "TestSupport"]
        ),
        .testTarget(
            name: "InferenceTests",
            dependencies: ["Inference", "CDNNL"]
        ),
        .testTarget(
            name: "FleetTests",
            dependencies: [
                "Core",
                "Fleet",
                "Messaging",
                "TestSupport",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
    ]
)

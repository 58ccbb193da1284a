// swift-tools-version:6.2
import PackageDescription

let strict: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let package = Package(
    name: "porteiro",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "porteiro", targets: ["porteiro"])
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.5.2"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        .package(url: "https://github.com/swift-extras/swift-extras-base64.git", from: "1.2.0"),
        .package(url: "https://github.com/adam-fowler/compress-nio.git", from: "1.5.0"),
        .package(url: "https://github.com/vapor/jwt-kit.git", from: "5.8.0"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-nio-http2.git", from: "1.46.0"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
    ],
    targets: [
        // Pure: the one configuration model, its loader and its validator. No sockets.
        .target(
            name: "PorteiroConfig",
            dependencies: [.product(name: "Yams", package: "Yams")],
            swiftSettings: strict
        ),
        // Pure: who may pass a route (allow rules, skip-auth rules).
        .target(
            name: "PorteiroPolicy",
            swiftSettings: strict
        ),
        // Pure: path normalization and the compiled host + longest-prefix route table.
        .target(
            name: "PorteiroRouting",
            dependencies: ["PorteiroConfig", "PorteiroPolicy"],
            swiftSettings: strict
        ),
        // Pure: the session model, its sealing (AES-GCM, HKDF, zlib) and cookie chunking.
        .target(
            name: "PorteiroSessions",
            dependencies: [
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "ExtrasBase64", package: "swift-extras-base64"),
                .product(name: "CompressNIO", package: "compress-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ],
            swiftSettings: strict
        ),
        // Pure: PKCE, return-target validation, provider metadata, ID-token verification, claims.
        .target(
            name: "PorteiroOIDC",
            dependencies: [
                "PorteiroConfig",
                "PorteiroRouting",
                .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "ExtrasBase64", package: "swift-extras-base64"),
            ],
            swiftSettings: strict
        ),
        // Login, refresh and sign-out: the rare calls to the IdP (discovery, JWKS, token endpoint)
        // over AsyncHTTPClient, behind the proxy's `GatewayAuthenticator` seam.
        .target(
            name: "PorteiroAuth",
            dependencies: [
                "PorteiroConfig",
                "PorteiroOIDC",
                "PorteiroSessions",
                "PorteiroProxy",
                "PorteiroMetrics",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ],
            swiftSettings: strict
        ),
        // Prometheus metrics: the names, label sets and the exposition text.
        .target(
            name: "PorteiroMetrics",
            dependencies: [
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            swiftSettings: strict
        ),
        // SwiftNIO channel handlers: the per-request data path and the upstream connection pool.
        .target(
            name: "PorteiroProxy",
            dependencies: [
                "PorteiroConfig",
                "PorteiroRouting",
                "PorteiroSessions",
                "PorteiroPolicy",
                "PorteiroMetrics",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "ExtrasBase64", package: "swift-extras-base64"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHTTP2", package: "swift-nio-http2"),
                .product(name: "NIOHPACK", package: "swift-nio-http2"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        // State shared by replicas in PostgreSQL (postgres-nio): revocations, kept in step by
        // LISTEN/NOTIFY and polling.
        .target(
            name: "PorteiroPostgres",
            dependencies: [
                "PorteiroSessions",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "ExtrasBase64", package: "swift-extras-base64"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ],
            swiftSettings: strict
        ),
        // Listener, lifecycle and signals: wires configuration to the data path.
        .target(
            name: "PorteiroServer",
            dependencies: [
                "PorteiroConfig",
                "PorteiroRouting",
                "PorteiroProxy",
                "PorteiroAuth",
                "PorteiroMetrics",
                "PorteiroPostgres",
                "PorteiroSessions",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHTTP2", package: "swift-nio-http2"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "NIOExtras", package: "swift-nio-extras"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),
        // `porteiro demo` and tests only: a development OpenID provider, never used by `serve`.
        .target(
            name: "PorteiroDevProvider",
            dependencies: [
                "PorteiroOIDC",
                "PorteiroRouting",
                "PorteiroSessions",
                .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "CryptoExtras", package: "swift-crypto"),
                .product(name: "ExtrasBase64", package: "swift-extras-base64"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ],
            swiftSettings: strict
        ),
        // `porteiro demo` only: the sample legacy app.
        .target(
            name: "PorteiroDemo",
            dependencies: [
                "PorteiroRouting",
                .product(name: "ExtrasBase64", package: "swift-extras-base64"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "porteiro",
            dependencies: [
                "PorteiroConfig",
                "PorteiroRouting",
                "PorteiroServer",
                "PorteiroDemo",
                "PorteiroDevProvider",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),
        // `swift run -c release porteiro-microbench`: the per-request pure work, timed (bench/micro).
        .executableTarget(
            name: "porteiro-microbench",
            dependencies: [
                "PorteiroConfig", "PorteiroOIDC", "PorteiroPolicy", "PorteiroRouting", "PorteiroSessions",
                "PorteiroProxy", "PorteiroServer",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "CryptoExtras", package: "swift-crypto"),
                .product(name: "ExtrasBase64", package: "swift-extras-base64"),
                .product(name: "JWTKit", package: "jwt-kit"),
            ],
            path: "bench/micro",
            swiftSettings: strict
        ),
        // Fuzz targets (fuzz/run.sh builds them with libFuzzer); a plain build replays fuzz/corpus.
        .executableTarget(
            name: "porteiro-fuzz",
            dependencies: [
                "PorteiroConfig", "PorteiroOIDC", "PorteiroRouting", "PorteiroSessions", "PorteiroProxy",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHTTP2", package: "swift-nio-http2"),
                .product(name: "NIOHPACK", package: "swift-nio-http2"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ],
            path: "fuzz/Sources",
            swiftSettings: strict
        ),
        .testTarget(
            name: "PorteiroConfigTests",
            dependencies: ["PorteiroConfig", "PorteiroRouting"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "PorteiroOIDCTests",
            dependencies: ["PorteiroOIDC", "PorteiroConfig", "PorteiroRouting", .product(name: "JWTKit", package: "jwt-kit")],
            swiftSettings: strict
        ),
        .testTarget(
            name: "PorteiroAuthTests",
            dependencies: [
                "PorteiroAuth", "PorteiroSessions", "PorteiroMetrics", "PorteiroConfig", "PorteiroProxy", "PorteiroRouting", "PorteiroOIDC",
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "PorteiroDevProviderTests",
            dependencies: ["PorteiroDevProvider", "PorteiroOIDC", "PorteiroRouting"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "PorteiroPostgresTests",
            dependencies: [
                "PorteiroPostgres", "PorteiroSessions",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "PorteiroSessionsTests",
            dependencies: ["PorteiroSessions"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "PorteiroPolicyTests",
            dependencies: ["PorteiroPolicy"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "PorteiroRoutingTests",
            dependencies: ["PorteiroRouting", "PorteiroConfig"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "PorteiroProxyTests",
            dependencies: [
                "PorteiroProxy", "PorteiroRouting", "PorteiroConfig",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "PorteiroIntegrationTests",
            dependencies: [
                "PorteiroServer", "PorteiroProxy", "PorteiroRouting", "PorteiroConfig", "PorteiroMetrics",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOHTTP2", package: "swift-nio-http2"),
                .product(name: "NIOHPACK", package: "swift-nio-http2"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
    ]
)

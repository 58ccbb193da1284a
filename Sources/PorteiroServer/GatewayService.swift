public import Logging
public import NIOCore
public import PorteiroConfig
public import ServiceLifecycle

/// `porteiro serve` as a swift-service-lifecycle service: SIGTERM/SIGINT trigger the graceful
/// shutdown that `GatewayServer.shutdown` performs.
public struct GatewayService: Service {
    private let config: GatewayConfig
    private let group: any EventLoopGroup
    private let logger: Logger

    public init(config: GatewayConfig, group: any EventLoopGroup, logger: Logger) {
        self.config = config
        self.group = group
        self.logger = logger
    }

    public func run() async throws {
        let server = try await GatewayServer.start(config: config, group: group, logger: logger)
        try? await gracefulShutdown()
        await server.shutdown()
    }
}

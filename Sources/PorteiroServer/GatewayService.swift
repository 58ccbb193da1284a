public import Logging
public import NIOCore
public import PorteiroConfig
public import ServiceLifecycle

/// `porteiro serve` as a swift-service-lifecycle service: SIGTERM/SIGINT trigger the graceful
/// shutdown that `GatewayServer.shutdown` performs.
public struct GatewayService: Service, CustomStringConvertible {
    private let config: GatewayConfig
    private let source: (path: String, text: String)?
    private let group: any EventLoopGroup
    private let logger: Logger

    /// `source`: the file `config` was loaded from and its text, watched for live reloads; nil = no
    /// reloads (demo mode).
    public init(config: GatewayConfig, source: (path: String, text: String)?, group: any EventLoopGroup, logger: Logger) {
        self.config = config
        self.source = source
        self.group = group
        self.logger = logger
    }

    /// What swift-service-lifecycle logs when it starts the service: never the configuration.
    public var description: String { "GatewayService(listen: \(config.server.listen))" }

    public func run() async throws {
        let server = try await GatewayServer.start(config: config, group: group, logger: logger)
        let reloading = source.map { source in
            let reloader = ConfigReloader(path: source.path, loadedText: source.text, server: server, logger: logger)
            return Task { await reloader.run(pollInterval: config.server.configPollInterval) }
        }
        try? await gracefulShutdown()
        reloading?.cancel()
        await server.shutdown()
    }
}

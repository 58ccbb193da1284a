public import Logging
public import NIOCore
import NIOExtras
import NIOPosix
import PorteiroAuth
public import PorteiroConfig
public import PorteiroProxy

/// A bound, serving gateway listener. `start` binds and returns at once; `shutdown` drains:
/// readiness goes false, the listener closes, idle keep-alive connections close, and in-flight
/// requests get up to the grace period to finish.
public final class GatewayServer: Sendable {
    public let localAddress: SocketAddress
    public let readiness: Readiness
    private let settings: GatewaySettingsBox
    private let authenticator: CookieAuthenticator?
    /// The configuration the process started with: what cannot change without a restart.
    private let startup: GatewayConfig
    private let channel: any Channel
    private let quiescing: ServerQuiescingHelper
    private let pools: UpstreamPools
    private let grace: Duration
    private let logger: Logger
    /// Loads the provider's metadata and keys in the background; cancelled at shutdown.
    private let providerLoader: Task<Void, Never>?

    private init(
        channel: any Channel, quiescing: ServerQuiescingHelper, pools: UpstreamPools, readiness: Readiness,
        settings: GatewaySettingsBox, authenticator: CookieAuthenticator?, startup: GatewayConfig,
        grace: Duration, logger: Logger, providerLoader: Task<Void, Never>?
    ) {
        self.settings = settings
        self.authenticator = authenticator
        self.startup = startup
        self.channel = channel
        self.localAddress = channel.localAddress!
        self.quiescing = quiescing
        self.pools = pools
        self.readiness = readiness
        self.grace = grace
        self.logger = logger
        self.providerLoader = providerLoader
    }

    public static func start(
        config: GatewayConfig, group: any EventLoopGroup, logger: Logger,
        connector: (any UpstreamConnector)? = nil
    ) async throws -> GatewayServer {
        var authenticator: CookieAuthenticator?
        var directory: ProviderDirectory?
        if let provider = config.provider, config.session != nil, config.server.publicURL != nil {
            let client = ProviderClient(provider: provider)
            directory = ProviderDirectory(client: client, provider: provider, logger: logger)
            authenticator = CookieAuthenticator(config: config, directory: directory!, client: client, logger: logger)
        }
        let settings = GatewaySettingsBox(try GatewaySettings(config: config, authenticator: authenticator))
        let listen = try ListenAddress.parse(config.server.listen).get()
        let readiness = Readiness()
        let connector = connector ?? SocketUpstreamConnector(connectTimeout: .init(config.upstream.connectTimeout))
        let pools = UpstreamPools(group: group, config: config.upstream, connector: connector)
        let quiescing = ServerQuiescingHelper(group: group)
        let maxHeaderBytes = config.server.maxHeaderBytes
        let providerLoader = directory.map { directory in Task { await directory.load() } }
        let channel: any Channel
        do {
            channel = try await ServerBootstrap(group: group)
                .serverChannelOption(.backlog, value: 1024)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .serverChannelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(quiescing.makeServerChannelHandler(channel: channel))
                    }
                }
                .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
                .childChannelOption(.maxMessagesPerRead, value: 16)
                .childChannelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try GatewayPipeline.configure(
                            channel, settings: settings, pools: pools, readiness: readiness,
                            maxHeaderBytes: maxHeaderBytes, logger: logger)
                    }
                }
                .bind(host: listen.host, port: listen.port)
                .get()
        } catch {
            providerLoader?.cancel()
            throw error
        }
        readiness.set(true)
        let server = GatewayServer(
            channel: channel, quiescing: quiescing, pools: pools, readiness: readiness, settings: settings,
            authenticator: authenticator, startup: config, grace: config.server.shutdownGrace, logger: logger,
            providerLoader: providerLoader)
        logger.info("listening", metadata: ["address": "\(server.localAddress)", "routes": "\(settings.current.routes.routes.count)"])
        return server
    }

    /// Swaps in a new configuration's routes, policies, pages and trusted proxies. New requests use
    /// it at once; requests in flight finish on the old one. Returns the keys that changed but need
    /// a restart to take effect (they keep their start-up values until then).
    public func apply(_ config: GatewayConfig) throws(ConfigProblems) -> [String] {
        settings.replace(with: try GatewaySettings(config: config, authenticator: authenticator))
        return RestartRequired.keys(from: startup, to: config)
    }

    /// Drains and stops. Returns when every client connection has closed, or when the grace
    /// period ends (the caller then shuts the event loops down, which closes what is left).
    public func shutdown() async {
        readiness.set(false)
        logger.info("shutting down", metadata: ["grace": "\(ConfigDuration.format(grace))"])
        let drained = channel.eventLoop.makePromise(of: Void.self)
        quiescing.initiateShutdown(promise: drained)
        let timeout = channel.eventLoop.scheduleTask(in: .init(grace)) {
            drained.succeed()
        }
        try? await drained.futureResult.get()
        timeout.cancel()
        providerLoader?.cancel()
        pools.shutdown()
    }
}

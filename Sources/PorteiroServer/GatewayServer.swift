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
    private let channel: any Channel
    private let quiescing: ServerQuiescingHelper
    private let pools: UpstreamPools
    private let grace: Duration
    private let logger: Logger
    /// Loads the provider's metadata and keys in the background; cancelled at shutdown.
    private let providerLoader: Task<Void, Never>?

    private init(
        channel: any Channel, quiescing: ServerQuiescingHelper, pools: UpstreamPools, readiness: Readiness,
        grace: Duration, logger: Logger, providerLoader: Task<Void, Never>?
    ) {
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
        let settings = try GatewaySettings(config: config, authenticator: authenticator)
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
            channel: channel, quiescing: quiescing, pools: pools, readiness: readiness,
            grace: config.server.shutdownGrace, logger: logger, providerLoader: providerLoader)
        logger.info("listening", metadata: ["address": "\(server.localAddress)", "routes": "\(settings.routes.routes.count)"])
        return server
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

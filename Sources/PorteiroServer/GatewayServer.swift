public import Logging
public import NIOCore
import NIOExtras
import NIOPosix
import NIOSSL
import PorteiroAuth
public import PorteiroConfig
public import PorteiroMetrics
public import PorteiroProxy

/// A bound, serving gateway listener. `start` binds and returns at once; `shutdown` drains:
/// readiness goes false, the listener closes, idle keep-alive connections close, and in-flight
/// requests get up to the grace period to finish.
public final class GatewayServer: Sendable {
    public let localAddress: SocketAddress
    /// Where `server.metrics_listen` is bound, when it is set.
    public let metricsAddress: SocketAddress?
    public let readiness: Readiness
    public let metrics: GatewayMetrics
    private let settings: GatewaySettingsBox
    private let authenticator: (any GatewayAuthenticator)?
    /// The configuration the process started with: what cannot change without a restart.
    private let startup: GatewayConfig
    private let channel: any Channel
    private let metricsChannel: (any Channel)?
    private let tls: ListenerTLS?
    private let quiescing: ServerQuiescingHelper
    private let pools: UpstreamPools
    private let logger: Logger
    /// Load the provider's metadata and keys, keep the revocation list in step; cancelled at shutdown.
    private let background: [Task<Void, Never>]

    private struct Parts {
        var channel: any Channel
        var metricsChannel: (any Channel)?
        var tls: ListenerTLS?
        var quiescing: ServerQuiescingHelper
        var pools: UpstreamPools
        var readiness: Readiness
        var settings: GatewaySettingsBox
        var authenticator: (any GatewayAuthenticator)?
        var background: [Task<Void, Never>]
    }

    private init(_ parts: Parts, startup: GatewayConfig, metrics: GatewayMetrics, logger: Logger) {
        self.settings = parts.settings
        self.authenticator = parts.authenticator
        self.startup = startup
        self.channel = parts.channel
        self.localAddress = parts.channel.localAddress!
        self.metricsChannel = parts.metricsChannel
        self.metricsAddress = parts.metricsChannel?.localAddress
        self.tls = parts.tls
        self.quiescing = parts.quiescing
        self.pools = parts.pools
        self.readiness = parts.readiness
        self.metrics = metrics
        self.logger = logger
        self.background = parts.background
    }

    public static func start(
        config: GatewayConfig, group: any EventLoopGroup, logger: Logger, metrics: GatewayMetrics = GatewayMetrics(),
        connector: (any UpstreamConnector)? = nil
    ) async throws -> GatewayServer {
        var authenticator: (any GatewayAuthenticator)?
        var background: [@Sendable () async -> Void] = []
        if !config.providers.isEmpty, config.session != nil, config.server.publicURL != nil {
            // One revocation store for all (entries are scoped by issuer); per provider its own
            // client, keys, session store (sealed under its own binding) and authenticator.
            let revocations = try SharedStores.revocations(config, logger: logger)
            background.append { await revocations.run() }
            var each: [CookieAuthenticator] = []
            for index in config.providers.indices {
                let provider = config.providers[index].config
                let client = ProviderClient(provider: provider, metrics: metrics)
                var providerLogger = logger
                if config.providers.count > 1 { providerLogger[metadataKey: "provider"] = "\(config.providers[index].name)" }
                let directory = ProviderDirectory(client: client, provider: provider, logger: providerLogger)
                let sessions = try SharedStores.sessions(config, provider: index, logger: logger)
                each.append(CookieAuthenticator(
                    config: config, provider: index, directory: directory, client: client, sessions: sessions, revocations: revocations,
                    metrics: metrics, logger: logger))
                background += [{ await directory.load() }, { await sessions?.run() }]
            }
            authenticator = each.count == 1 ? each[0] : ProviderAuthenticators(each)
        }
        let settings = GatewaySettingsBox(try GatewaySettings(config: config, authenticator: authenticator, metrics: metrics))
        let tls = try config.server.tls.map { tls throws(ConfigProblems) in try ListenerTLS(tls) }
        if config.upstream.insecureSkipVerify {
            logger.warning("upstream.insecure_skip_verify is on: https upstreams are not authenticated")
        }
        for warning in ConfigWarnings.all(in: config) {
            logger.warning("configuration warning", metadata: ["problem": "\(warning)"])
        }
        let connector = try connector ?? SocketUpstreamConnector(
            connectTimeout: .init(config.upstream.connectTimeout), tls: SocketUpstreamConnector.tlsContext(config.upstream))
        let readiness = Readiness()
        let pools = UpstreamPools(group: group, config: config.upstream, connector: connector)
        let quiescing = ServerQuiescingHelper(group: group)
        let shared = GatewayPipeline.Shared(
            settings: settings, pools: pools, readiness: readiness, maxHeaderBytes: config.server.maxHeaderBytes, logger: logger)
        let tasks = background.map { work in Task { await work() } }
        let channel: any Channel
        var metricsChannel: (any Channel)?
        do {
            channel = try await bindListener(config.server, group: group, quiescing: quiescing, shared: shared, tls: tls)
        } catch {
            tasks.forEach { $0.cancel() }
            throw error
        }
        if let address = config.server.metricsListen {
            do {
                metricsChannel = try await MetricsListener.bind(
                    try ListenAddress.parse(address).get(), metrics: metrics,
                    isReady: { readiness.isReady && (settings.current.authenticator?.isReady ?? true) }, group: group)
            } catch {
                try? await channel.close()
                tasks.forEach { $0.cancel() }
                throw error
            }
        }
        readiness.set(true)
        let server = GatewayServer(
            Parts(
                channel: channel, metricsChannel: metricsChannel, tls: tls, quiescing: quiescing, pools: pools,
                readiness: readiness, settings: settings, authenticator: authenticator, background: tasks),
            startup: config, metrics: metrics, logger: logger)
        logger.info(
            "listening",
            metadata: [
                "address": "\(server.localAddress.ipAddress ?? "?"):\(server.localAddress.port ?? 0)", "tls": "\(tls != nil)", "routes": "\(settings.current.routes.routes.count)",
                "metrics": "\(server.metricsAddress.map { "\($0)" } ?? config.server.metricsPath ?? "off")",
            ])
        return server
    }

    private static func bindListener(
        _ server: ServerConfig, group: any EventLoopGroup, quiescing: ServerQuiescingHelper, shared: GatewayPipeline.Shared,
        tls: ListenerTLS?
    ) async throws -> any Channel {
        let listen = try ListenAddress.parse(server.listen).get()
        let connections = ConnectionLimit(configured: server.maxConnections)
        let refused = shared.settings.current.metrics.connectionsRefused
        return try await ServerBootstrap(group: group)
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
                guard connections.admit(channel) else {
                    refused.increment()
                    return channel.close()
                }
                return ConnectionInitializer.configure(channel, shared: shared, tls: tls)
            }
            .bind(host: listen.host, port: listen.port)
            .get()
    }

    /// Swaps in a new configuration's routes, policies, pages and trusted proxies. New requests use
    /// it at once; requests in flight finish on the old one. Returns the keys that changed but need
    /// a restart to take effect (they keep their start-up values until then).
    public func apply(_ config: GatewayConfig) throws(ConfigProblems) -> [String] {
        // Routes name providers; the running authenticators are the start-up ones (changing
        // providers needs a restart), so names resolve against those: a reordered list can never
        // hand one provider's sessions to another's routes, and a new name fails the reload.
        var effective = config
        effective.providers = startup.providers
        settings.replace(with: try GatewaySettings(config: effective, authenticator: authenticator, metrics: metrics))
        return RestartRequired.keys(from: startup, to: config)
    }

    /// Re-reads the TLS certificate and key; new connections use them if they changed and are valid.
    public func reloadCertificatesIfChanged() {
        tls?.reloadIfChanged(logger: logger)
    }

    /// Drains and stops. Returns when every client connection has closed, or when the grace
    /// period ends (the caller then shuts the event loops down, which closes what is left).
    public func shutdown() async {
        readiness.set(false)
        let grace = startup.server.shutdownGrace
        logger.info("shutting down", metadata: ["grace": "\(ConfigDuration.format(grace))"])
        let drained = channel.eventLoop.makePromise(of: Void.self)
        quiescing.initiateShutdown(promise: drained)
        let timeout = channel.eventLoop.scheduleTask(in: .init(grace)) {
            drained.succeed()
        }
        try? await drained.futureResult.get()
        timeout.cancel()
        try? await metricsChannel?.close()
        background.forEach { $0.cancel() }
        pools.shutdown()
    }
}

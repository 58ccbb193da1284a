public import NIOCore
import NIOHTTP1
public import Logging
public import PorteiroConfig

/// One `UpstreamConnectionPool` per event loop of the group, made up front so that looking up the
/// pool of a new client connection takes no lock.
public struct UpstreamPools: Sendable {
    private let pools: [ObjectIdentifier: NIOLoopBoundBox<UpstreamConnectionPool>]

    public init(group: any EventLoopGroup, config: UpstreamPoolConfig, connector: any UpstreamConnector) {
        var pools: [ObjectIdentifier: NIOLoopBoundBox<UpstreamConnectionPool>] = [:]
        for loop in group.makeIterator() {
            let pool = UpstreamConnectionPool(eventLoop: loop, config: config, connector: connector)
            pools[ObjectIdentifier(loop)] = .makeBoxSendingValue(pool, as: UpstreamConnectionPool.self, eventLoop: loop)
        }
        self.pools = pools
    }

    /// The pool of `eventLoop`; call on that loop.
    public func pool(for eventLoop: any EventLoop) -> UpstreamConnectionPool {
        guard let pool = pools[ObjectIdentifier(eventLoop)] else {
            preconditionFailure("event loop \(eventLoop) is not part of the gateway's group")
        }
        return pool.value
    }

    /// Closes the idle connections of every pool, each on its own loop.
    public func shutdown() {
        for box in pools.values {
            box.eventLoop.execute { box.value.shutdown() }
        }
    }
}

/// Installs the client-side HTTP codec and the gateway handler on an accepted connection.
public enum GatewayPipeline {
    public static func configure(
        _ channel: any Channel, settings: GatewaySettingsBox, pools: UpstreamPools, readiness: Readiness,
        maxHeaderBytes: Int, logger: Logger
    ) throws {
        var limits = NIOHTTPDecoderLimitConfiguration()
        limits.maxHeaderListSize = maxHeaderBytes
        limits.maxHeaderFieldSize = maxHeaderBytes
        limits.maxHeaderFieldCount = settings.current.maxHeaderCount
        let pipeline = channel.pipeline.syncOperations
        try pipeline.configureHTTPServerPipeline(
            withPipeliningAssistance: true,
            withErrorHandling: false,
            withOutboundHeaderValidation: true,
            withEncoderConfiguration: .init(),
            withDecoderLimitConfiguration: limits
        )
        let pool = pools.pool(for: channel.eventLoop)
        try pipeline.addHandler(GatewayHandler(settings: settings, pool: pool, readiness: readiness, logger: logger))
    }
}

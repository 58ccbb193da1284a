public import NIOCore
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

public import NIOCore
public import PorteiroConfig

/// The keep-alive connections of one event loop, per upstream. Every client connection on the loop
/// leases from it, so an exchange never leaves its thread. Decisions come from
/// `UpstreamPoolStateMachine`; this class only performs them.
public final class UpstreamConnectionPool {
    public let eventLoop: any EventLoop
    private let limits: UpstreamPoolStateMachine<Int>.Limits
    private let connector: any UpstreamConnector
    private var machines: [UpstreamAddress: UpstreamPoolStateMachine<Int>] = [:]
    private var idle: [Int: UpstreamConnection] = [:]
    private var nextID = 0

    public init(eventLoop: any EventLoop, config: UpstreamPoolConfig, connector: any UpstreamConnector) {
        self.eventLoop = eventLoop
        self.limits = .init(
            idleTimeout: TimeAmount(config.idleTimeout),
            maxLifetime: TimeAmount(config.maxLifetime),
            maxIdle: config.maxIdlePerUpstream
        )
        self.connector = connector
    }

    /// Hands out an idle connection synchronously when one is warm, or opens one.
    func lease(
        _ address: UpstreamAddress, fresh: Bool = false,
        completion: @escaping (Result<UpstreamConnection, any Error>) -> Void
    ) {
        eventLoop.preconditionInEventLoop()
        while !fresh {
            switch machines[address, default: .init(limits: limits)].lease(now: .now()) {
            case .reuse(let id, let stale):
                stale.forEach(closeIdle)
                guard let connection = idle.removeValue(forKey: id), connection.channel.isActive else { continue }
                _ = connection.idleDeadline.set(nil)
                return completion(.success(connection))
            case .connect(let stale):
                stale.forEach(closeIdle)
                return connect(address, completion: completion)
            }
        }
        connect(address, completion: completion)
    }

    /// Gives a connection back after its exchange; closes it unless `reusable`.
    func release(_ connection: UpstreamConnection, reusable: Bool) {
        connection.handler.receiver = nil
        connection.exchangesServed += 1
        let now = NIODeadline.now()
        let action = machines[connection.address, default: .init(limits: limits)]
            .release(connection.id, createdAt: connection.createdAt, reusable: reusable && connection.channel.isActive, now: now)
        switch action {
        case .close:
            connection.channel.close(promise: nil)
        case .park(let deadline):
            idle[connection.id] = connection
            if let scheduleFor = connection.idleDeadline.set(deadline) { scheduleIdleTask(connection, at: scheduleFor) }
        }
    }

    private func scheduleIdleTask(_ connection: UpstreamConnection, at deadline: NIODeadline) {
        connection.idleTask?.cancel()
        connection.idleTask = eventLoop.assumeIsolated().scheduleTask(deadline: deadline) { [weak self] in
            guard let self else { return }
            switch connection.idleDeadline.taskRan(scheduledFor: deadline, now: .now()) {
            case .expired:
                if self.machines[connection.address]?.idleTimerFired(connection.id, now: .now()) == true {
                    self.closeIdle(connection.id)
                }
            case .reschedule(let next):
                self.scheduleIdleTask(connection, at: next)
            case .nothing:
                break
            }
        }
    }

    /// Closes every idle connection and stops pooling, for shutdown.
    public func shutdown() {
        for address in machines.keys {
            machines[address]?.shutdown().forEach(closeIdle)
        }
    }

    /// Idle connections currently held, for tests and metrics.
    public var idleConnectionCount: Int { idle.count }

    private func connect(_ address: UpstreamAddress, completion: @escaping (Result<UpstreamConnection, any Error>) -> Void) {
        nextID += 1
        let id = nextID
        connector.connect(to: address, on: eventLoop).assumeIsolated().whenComplete { [weak self] result in
            guard let self else { return }
            switch result {
            case .failure(let error):
                completion(.failure(error))
            case .success(let channel):
                do {
                    let handler = try channel.pipeline.syncOperations.handler(type: UpstreamHandler.self)
                    let connection = UpstreamConnection(
                        id: id, channel: channel, handler: handler, address: address, createdAt: .now())
                    handler.onInactive = { [weak self] in self?.connectionClosed(connection) }
                    completion(.success(connection))
                } catch {
                    channel.close(promise: nil)
                    completion(.failure(error))
                }
            }
        }
    }

    private func connectionClosed(_ connection: UpstreamConnection) {
        connection.idleTask?.cancel()
        if idle.removeValue(forKey: connection.id) != nil {
            machines[connection.address]?.closed(connection.id)
        }
    }

    private func closeIdle(_ id: Int) {
        guard let connection = idle.removeValue(forKey: id) else { return }
        connection.idleTask?.cancel()
        connection.channel.close(promise: nil)
    }
}

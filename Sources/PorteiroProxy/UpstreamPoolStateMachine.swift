public import NIOCore

/// Decides the life of pooled keep-alive connections to one upstream; the owner
/// (`UpstreamConnectionPool`) performs what it returns. Pure and clock-injected, so every rule —
/// most-recently-used reuse, idle timeout, maximum lifetime, idle cap — is tested without sockets.
public struct UpstreamPoolStateMachine<ConnectionID: Hashable & Sendable>: Sendable {
    public struct Limits: Sendable {
        public var idleTimeout: TimeAmount
        public var maxLifetime: TimeAmount
        public var maxIdle: Int

        public init(idleTimeout: TimeAmount, maxLifetime: TimeAmount, maxIdle: Int) {
            self.idleTimeout = idleTimeout
            self.maxLifetime = maxLifetime
            self.maxIdle = maxIdle
        }
    }

    public enum LeaseAction: Equatable, Sendable {
        /// Send the request on this idle connection; close the stale ones found on the way.
        case reuse(ConnectionID, closing: [ConnectionID])
        /// Open a new connection; close the stale ones found on the way.
        case connect(closing: [ConnectionID])
    }

    public enum ReleaseAction: Equatable, Sendable {
        /// Keep it idle; the owner arms an idle timer for `until`.
        case park(until: NIODeadline)
        case close
    }

    private struct Idle: Sendable {
        var id: ConnectionID
        var createdAt: NIODeadline
        var idleSince: NIODeadline
    }

    public let limits: Limits
    /// Most recently parked last: reusing the warmest connection lets the others time out.
    private var idle: [Idle] = []
    private var isShutDown = false

    public init(limits: Limits) {
        self.limits = limits
    }

    public var idleCount: Int { idle.count }

    public mutating func lease(now: NIODeadline) -> LeaseAction {
        var stale: [ConnectionID] = []
        while let candidate = idle.popLast() {
            if isExpired(candidate, now: now) {
                stale.append(candidate.id)
            } else {
                return .reuse(candidate.id, closing: stale)
            }
        }
        return .connect(closing: stale)
    }

    /// An exchange finished. `reusable` is false when either side said `Connection: close`, the
    /// response body was not read to its end, or the request body was not fully sent.
    public mutating func release(_ id: ConnectionID, createdAt: NIODeadline, reusable: Bool, now: NIODeadline)
        -> ReleaseAction
    {
        guard reusable, !isShutDown, limits.maxIdle > 0, now < createdAt + limits.maxLifetime else { return .close }
        if idle.count >= limits.maxIdle {
            return .close
        }
        idle.append(Idle(id: id, createdAt: createdAt, idleSince: now))
        return .park(until: min(now + limits.idleTimeout, createdAt + limits.maxLifetime))
    }

    /// The idle timer of `id` fired: true when the owner should close it now.
    public mutating func idleTimerFired(_ id: ConnectionID, now: NIODeadline) -> Bool {
        guard let index = idle.firstIndex(where: { $0.id == id }), isExpired(idle[index], now: now) else {
            return false
        }
        idle.remove(at: index)
        return true
    }

    /// The connection closed on its own (upstream timeout, reset); forget it if it was idle.
    public mutating func closed(_ id: ConnectionID) {
        idle.removeAll { $0.id == id }
    }

    /// Stop pooling: every idle connection is returned for closing, later releases close.
    public mutating func shutdown() -> [ConnectionID] {
        isShutDown = true
        defer { idle.removeAll() }
        return idle.map(\.id)
    }

    private func isExpired(_ entry: Idle, now: NIODeadline) -> Bool {
        now >= entry.idleSince + limits.idleTimeout || now >= entry.createdAt + limits.maxLifetime
    }
}

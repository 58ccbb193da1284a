import NIOConcurrencyHelpers

/// This replica's copy of the revocation list, read on every signed-in request. A store fills it
/// (at once in memory; from PostgreSQL's notifications or polls) and says when it last caught up,
/// so `/ready` can fail when the copy is older than `maxStaleness`. `generation` changes with
/// every change, so a connection's remembered session is re-checked only when something was revoked.
public final class RevocationCache: Sendable {
    private struct State {
        var list = RevocationList()
        var generation: UInt64 = 0
        var lastSync: ContinuousClock.Instant?
    }

    private let state: NIOLockedValueBox<State>
    /// nil: never stale (the in-memory store is the list itself).
    public let maxStaleness: Duration?

    public init(maxStaleness: Duration?) {
        self.maxStaleness = maxStaleness
        self.state = NIOLockedValueBox(State(lastSync: maxStaleness == nil ? .now : nil))
    }

    public var generation: UInt64 { state.withLockedValue { $0.generation } }

    /// See `RevocationList.revokes(_:issuer:)`.
    public func revokes(_ session: Session, issuer: String? = nil) -> Bool {
        state.withLockedValue { $0.list.revokes(session, issuer: issuer) }
    }

    public var count: Int { state.withLockedValue { $0.list.count } }

    /// Applies revocations and prunes expired ones; true when the list changed.
    @discardableResult
    public func apply(_ revocations: some Sequence<Revocation>, now: Int64) -> Bool {
        state.withLockedValue { state in
            var changed = state.list.prune(now: now)
            for revocation in revocations where revocation.expiresAt > now {
                changed = state.list.apply(revocation) || changed
            }
            if changed { state.generation &+= 1 }
            return changed
        }
    }

    /// The store has caught up with the shared list.
    public func markSynced(at instant: ContinuousClock.Instant = .now) {
        state.withLockedValue { $0.lastSync = instant }
    }

    /// False before the first sync, or when the last one is older than `maxStaleness`.
    public func isFresh(at instant: ContinuousClock.Instant = .now) -> Bool {
        guard let maxStaleness else { return true }
        return state.withLockedValue { $0.lastSync.map { $0.duration(to: instant) <= maxStaleness } ?? false }
    }
}

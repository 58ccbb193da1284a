import NIOConcurrencyHelpers
public import PorteiroConfig
public import PorteiroProxy

/// The tokens `token_exchange` routes got for their apps (RFC 8693), remembered per session and
/// exchange until they fall due, so a busy page costs one call to the token endpoint per token
/// lifetime, not one per request. Concurrent requests of one session share one call (single
/// flight); a refusal is remembered a few seconds, so a misconfigured route does not hammer the IdP.
/// Bounded: past `maxRemembered` entries the expired go, then all.
public final class TokenExchanges: Sendable {
    struct Key: Hashable {
        /// The session's id (its access token for a session without one).
        var session: String
        var exchange: RouteConfig.TokenExchange
    }

    struct Remembered {
        var result: Result<String, TokenExchangeRefused>
        /// Unix seconds from which it is not used.
        var until: Int64
    }

    /// What the token endpoint gave: the token and when it expires (0 = it did not say).
    public typealias Issued = (token: String, expiresAt: Int64)

    static let maxRemembered = 10_000
    static let retryAfterRefusal: Int64 = 5
    /// A token whose lifetime the IdP did not give is exchanged again this often.
    static let unknownLifetimeReuse: Int64 = 60
    /// `session.refresh_before`: a token is exchanged again this long before it expires (at most
    /// half its lifetime, as refreshes).
    private let margin: Int64
    private let remembered = NIOLockedValueBox<[Key: Remembered]>([:])
    private let inFlight = NIOLockedValueBox<[Key: Task<Remembered, Never>]>([:])

    public init(margin: Int64) {
        self.margin = margin
    }

    static func key(_ user: SignedInUser, _ exchange: RouteConfig.TokenExchange) -> Key {
        Key(session: user.sessionID.isEmpty ? user.accessToken : user.sessionID, exchange: exchange)
    }

    /// The remembered token when it is good at `now`; nil when it must be asked for (a
    /// remembered refusal too: `exchange` answers it without calling).
    public func cached(for user: SignedInUser, _ exchange: RouteConfig.TokenExchange, now: Int64) -> String? {
        let key = Self.key(user, exchange)
        guard let entry = remembered.withLockedValue({ $0[key] }), now < entry.until, case .success(let token) = entry.result else { return nil }
        return token
    }

    /// The remembered result, or `call`'s (shared by concurrent callers for the same key).
    public func exchange(
        for user: SignedInUser, _ exchange: RouteConfig.TokenExchange, now: Int64,
        call: @escaping @Sendable () async -> Result<Issued, TokenExchangeRefused>
    ) async -> Result<String, TokenExchangeRefused> {
        let key = Self.key(user, exchange)
        if let entry = remembered.withLockedValue({ $0[key] }), now < entry.until { return entry.result }
        let margin = self.margin
        let (task, started) = inFlight.withLockedValue { tasks -> (Task<Remembered, Never>, Bool) in
            if let running = tasks[key] { return (running, false) }
            let task = Task { Self.remembered(await call(), now: now, margin: margin) }
            tasks[key] = task
            return (task, true)
        }
        let entry = await task.value
        if started {
            inFlight.withLockedValue { $0[key] = nil }
            remembered.withLockedValue { entries in
                if entries.count >= Self.maxRemembered { entries = entries.filter { now < $0.value.until } }
                if entries.count >= Self.maxRemembered { entries.removeAll(keepingCapacity: true) }
                entries[key] = entry
            }
        }
        return entry.result
    }

    /// Until when a result is used: a token until its margin before expiry (and never past it),
    /// a refusal a few seconds.
    static func remembered(_ result: Result<Issued, TokenExchangeRefused>, now: Int64, margin: Int64) -> Remembered {
        switch result {
        case .failure(let refused):
            return Remembered(result: .failure(refused), until: now + retryAfterRefusal)
        case .success(let issued) where issued.expiresAt == 0:
            return Remembered(result: .success(issued.token), until: now + unknownLifetimeReuse)
        case .success(let issued):
            let lifetime = max(0, issued.expiresAt - now)
            return Remembered(result: .success(issued.token), until: issued.expiresAt - min(margin, lifetime / 2))
        }
    }
}

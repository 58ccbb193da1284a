/// Where a session lives: in the cookie itself (the default), or in a database with only a sealed
/// id in the cookie (for IdPs whose tokens are too large for cookies). The cookie value is the
/// store's to make and to read; the authenticator only carries it.
public protocol SessionStore: Sendable {
    /// Without I/O: always for cookies; for a database, from this replica's cache (else `.unknown`).
    func cachedSession(for cookieValue: String, now: Int64) -> SessionLookup
    /// The authoritative answer, reading the database when there is one.
    func session(for cookieValue: String, now: Int64) async throws -> SessionLookup
    /// Stores `session` and returns the cookie value to set. `replacing` is the value the browser
    /// sent, for a session that changed (a refresh); nil for a new login, which always gets a new id.
    func save(_ session: Session, replacing cookieValue: String?, now: Int64) async throws -> String
    /// Forgets the session (sign-out); a no-op for cookies, which the browser drops.
    func delete(_ cookieValue: String) async throws
    /// How long a connection may reuse a session it read without asking the store again; nil = as
    /// long as the session itself allows (nothing outside the cookie can change it).
    var reuseLimit: Duration? { get }
    /// Background work (a connection pool, clean-up) until cancelled.
    func run() async
}

/// A refresh found the session gone from the store: it was signed out on another replica.
public struct SessionGone: Error {
    public init() {}
}

public enum SessionLookup: Sendable {
    case found(Session)
    case rejected(Rejection)
    /// Not in the cache: ask `session(for:now:)`.
    case unknown

    public enum Rejection: String, Sendable {
        /// Did not open: tampered, truncated, a missing chunk, sealed under a retired secret, or
        /// (in a database) an id that is not there.
        case unreadable
        case expired
        /// Unused longer than `session.idle_timeout`.
        case idle
    }
}

/// Sessions sealed whole into the cookie (AES-256-GCM, see `SessionSealer`): nothing shared, no I/O.
/// The last activity is inside the seal too, so a client cannot keep an idle session alive.
public struct CookieSessionStore: SessionStore {
    let sealer: SessionSealer
    /// `session.idle_timeout` in seconds; 0 = none.
    let idleTimeout: Int64

    public init(sealer: SessionSealer, idleTimeout: Int64 = 0) {
        self.sealer = sealer
        self.idleTimeout = idleTimeout
    }

    public func cachedSession(for cookieValue: String, now: Int64) -> SessionLookup {
        guard let bytes = sealer.open(cookieValue, purpose: "session"), let session = Session(decoding: bytes) else {
            return .rejected(.unreadable)
        }
        return session.lookup(now: now, idleTimeout: idleTimeout)
    }

    public func session(for cookieValue: String, now: Int64) async throws -> SessionLookup {
        cachedSession(for: cookieValue, now: now)
    }

    public func save(_ session: Session, replacing cookieValue: String?, now: Int64) async throws -> String {
        sealer.seal(session.encoded(), purpose: "session")
    }

    public func delete(_ cookieValue: String) async throws {}

    public var reuseLimit: Duration? { nil }

    public func run() async {}
}

extension Session {
    /// This session as a store finds it at `now`: over at its lifetime's end or after
    /// `idleTimeout` seconds unused.
    public func lookup(now: Int64, idleTimeout: Int64) -> SessionLookup {
        guard expiresAt > now else { return .rejected(.expired) }
        return isIdle(now: now, idleTimeout: idleTimeout) ? .rejected(.idle) : .found(self)
    }
}

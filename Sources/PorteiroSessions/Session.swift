/// A signed-in user, as sealed into the session cookie. Times are Unix seconds.
public struct Session: Sendable, Equatable {
    /// Random, made at login: names this session when a sign-out revokes it on every replica.
    public var id: String
    public var subject: String
    public var user: String
    public var email: String
    /// The IdP's `email_verified`: policies on emails and domains admit only verified addresses.
    public var emailVerified: Bool
    public var groups: [String]
    public var roles: [String]
    /// Sent upstream as `Authorization: Bearer`.
    public var accessToken: String
    public var refreshToken: String?
    /// Kept only for `id_token_hint` at sign-out.
    public var idToken: String?
    /// The IdP session id (`sid`), for back-channel logout.
    public var sid: String?
    /// When the access token expires; 0 when the IdP did not say.
    public var accessTokenExpiresAt: Int64
    /// When Porteiro received the access token: with its expiry, the token's lifetime.
    public var accessTokenIssuedAt: Int64
    public var createdAt: Int64
    /// The session's own end (`session.lifetime` after login), enforced from inside the seal.
    public var expiresAt: Int64
    /// Claims that routes read (`allow.claims`, `{claims.…}` in `headers`), by dotted path; only
    /// those are kept.
    public var claims: [String: [String]]
    /// The last request that used it, recorded at most every tenth of `session.idle_timeout`; 0 =
    /// none since `createdAt`.
    public var lastSeenAt: Int64

    public init(
        id: String = "", subject: String, user: String, email: String = "", emailVerified: Bool = false,
        groups: [String] = [], roles: [String] = [], accessToken: String, refreshToken: String? = nil,
        idToken: String? = nil, sid: String? = nil, accessTokenExpiresAt: Int64 = 0, accessTokenIssuedAt: Int64 = 0,
        createdAt: Int64, expiresAt: Int64, claims: [String: [String]] = [:], lastSeenAt: Int64 = 0
    ) {
        self.id = id
        self.subject = subject
        self.user = user
        self.email = email
        self.emailVerified = emailVerified
        self.groups = groups
        self.roles = roles
        self.accessToken = accessToken
        self.refreshToken = refreshToken
        self.idToken = idToken
        self.sid = sid
        self.accessTokenExpiresAt = accessTokenExpiresAt
        self.accessTokenIssuedAt = accessTokenIssuedAt
        self.createdAt = createdAt
        self.expiresAt = expiresAt
        self.claims = claims
        self.lastSeenAt = lastSeenAt
    }

    /// When it was last used (or created).
    public var lastActiveAt: Int64 { max(lastSeenAt, createdAt) }

    /// Unused for `idleTimeout` seconds (0 = no idle timeout): over, whatever its lifetime says.
    public func isIdle(now: Int64, idleTimeout: Int64) -> Bool {
        idleTimeout > 0 && now >= Self.saturatingSum(lastActiveAt, idleTimeout)
    }

    /// When its activity is next worth recording: a tenth of the idle timeout after the last
    /// record, so a busy page does not rewrite the session on every request; `Int64.max` without
    /// an idle timeout.
    public func activityDueAt(idleTimeout: Int64) -> Int64 {
        guard idleTimeout > 0 else { return .max }
        return Self.saturatingSum(lastActiveAt, max(1, idleTimeout / 10))
    }

    private static func saturatingSum(_ a: Int64, _ b: Int64) -> Int64 {
        let (sum, overflow) = a.addingReportingOverflow(b)
        return overflow ? (b > 0 ? .max : .min) : sum
    }

    /// Where the access token stands at `now`.
    public enum TokenState: Equatable, Sendable {
        /// Good to forward until `until` (then refresh, or log in again); `Int64.max` when the IdP
        /// gave no expiry.
        case fresh(until: Int64)
        /// Within its refresh margin, and a refresh token is at hand.
        case refreshDue
        /// Expired and nothing can renew it: the session is over (a new login, usually silent at
        /// the IdP). An expired token is never forwarded.
        case expired
    }

    /// `margin`: `session.refresh_before`, which a short-lived token shrinks (see `refreshMargin`).
    public func tokenState(now: Int64, margin: Int64) -> TokenState {
        guard accessTokenExpiresAt != 0 else { return .fresh(until: .max) }
        if refreshToken != nil {
            let due = accessTokenExpiresAt - refreshMargin(configured: margin)
            return now < due ? .fresh(until: due) : .refreshDue
        }
        return now < accessTokenExpiresAt ? .fresh(until: accessTokenExpiresAt) : .expired
    }

    /// The configured margin, but at most half the token's lifetime: a margin longer than the
    /// lifetime would make every request refresh, and a remembered refresh serve a stale token.
    public func refreshMargin(configured: Int64) -> Int64 {
        let lifetime = accessTokenExpiresAt - accessTokenIssuedAt
        guard accessTokenIssuedAt > 0, lifetime > 0 else { return configured }
        return min(configured, lifetime / 2)
    }

    /// True when the access token has expired (never for a token of unknown expiry).
    public func accessTokenExpired(now: Int64) -> Bool {
        accessTokenExpiresAt != 0 && accessTokenExpiresAt <= now
    }
}

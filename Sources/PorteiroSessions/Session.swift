/// A signed-in user, as sealed into the session cookie. Times are Unix seconds.
public struct Session: Sendable, Equatable {
    public var subject: String
    public var user: String
    public var email: String
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
    public var createdAt: Int64
    /// The session's own end (`session.lifetime` after login), enforced from inside the seal.
    public var expiresAt: Int64
    /// Claims that route policies read (`allow.claims`), by dotted path; only those are kept.
    public var claims: [String: [String]]

    public init(
        subject: String, user: String, email: String = "", groups: [String] = [], roles: [String] = [],
        accessToken: String, refreshToken: String? = nil, idToken: String? = nil, sid: String? = nil,
        accessTokenExpiresAt: Int64 = 0, createdAt: Int64, expiresAt: Int64, claims: [String: [String]] = [:]
    ) {
        self.subject = subject
        self.user = user
        self.email = email
        self.groups = groups
        self.roles = roles
        self.accessToken = accessToken
        self.refreshToken = refreshToken
        self.idToken = idToken
        self.sid = sid
        self.accessTokenExpiresAt = accessTokenExpiresAt
        self.createdAt = createdAt
        self.expiresAt = expiresAt
        self.claims = claims
    }

    /// True when the access token expires within `margin` seconds and can be refreshed.
    public func needsRefresh(now: Int64, margin: Int64) -> Bool {
        refreshToken != nil && accessTokenExpiresAt != 0 && accessTokenExpiresAt - margin <= now
    }
}

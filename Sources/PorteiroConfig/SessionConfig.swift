/// The encrypted session cookie.
public struct SessionConfig: Sendable, Equatable {
    public enum Store: String, Sendable, CaseIterable {
        /// The whole session sealed into the cookie: nothing shared, no I/O.
        case cookie
        /// In `database.url`; the cookie holds a sealed id (for tokens too large for cookies).
        case postgres
    }

    public var cookieName: String
    /// Base64 32-byte secrets; the first seals, every one opens, so rotation logs nobody out.
    public var secrets: [String]
    public var lifetime: Duration
    /// Refresh the access token when it expires within this margin.
    public var refreshBefore: Duration = .seconds(60)
    /// `Domain` attribute, to share the session across subdomains; nil = host-only cookie.
    public var cookieDomain: String?
    /// `__Host-` name prefix (needs an https public URL and no domain); nil = whenever possible.
    public var cookieHostPrefix: Bool?
    public var store: Store = .cookie
    /// End a session unused this long (`OIDCSessionInactivityTimeout`); nil = only its lifetime.
    public var idleTimeout: Duration?

    /// `idleTimeout` in whole seconds; 0 = none.
    public var idleTimeoutSeconds: Int64 { idleTimeout?.components.seconds ?? 0 }

    /// Whether cookies carry the `__Host-` prefix: as configured, else whenever the public URL is
    /// https and no `cookie_domain` is set. Browsers then refuse the name from another subdomain
    /// or from plain http, and at any `Path` but `/`, so no one can plant a session (cookie tossing).
    public func usesHostPrefix(publicURL: String?) -> Bool {
        cookieHostPrefix ?? (cookieDomain == nil && publicURL.flatMap { PublicURL.parse($0) }?.scheme == .https)
    }

    public init(cookieName: String = "_porteiro", secrets: [String], lifetime: Duration = .seconds(8 * 3600)) {
        self.cookieName = cookieName
        self.secrets = secrets
        self.lifetime = lifetime
    }
}

/// One upstream route: requests whose host and longest path prefix match go to `upstream`.
public struct RouteConfig: Sendable, Equatable {
    public enum Auth: String, Sendable, CaseIterable {
        /// Public: no session needed, identity headers stripped.
        case none
        /// Identity forwarded when there is a session; never forces a login.
        case optional
        /// A signed-in session is needed (and the `allow` rules must admit it).
        case required
        /// API route: a client-supplied JWT access token (`Authorization: Bearer`), never a redirect.
        case bearer
    }

    /// `allow:` — any one rule admits; absent = any signed-in user.
    public struct Allow: Sendable, Equatable {
        public var groups: [String] = []
        public var roles: [String] = []
        public var emails: [String] = []
        public var emailDomains: [String] = []
        /// Dotted claim path → accepted values.
        public var claims: [String: [String]] = [:]

        public init() {}
    }

    /// `skip_auth:` — requests inside the route that need no sign-in.
    public struct SkipAuth: Sendable, Equatable {
        /// Empty = every method.
        public var methods: [String] = []
        /// Exact path, or a prefix ending in `*`.
        public var path: String

        public init(methods: [String] = [], path: String) {
            self.methods = methods
            self.path = path
        }
    }

    /// Exact host (`portal.example.org`) or a wildcard suffix (`*.example.org`); nil = any host.
    public var host: String?
    public var path: String
    public var upstream: String
    public var auth: Auth
    /// Remove the route's path prefix before forwarding (`/app/x` → `/x`).
    public var stripPrefix: Bool
    /// Forward the client's `Host` (default) instead of the upstream's host:port.
    public var preserveHost: Bool
    /// Longest wait for the upstream's response head once the request is sent; then 504.
    public var timeout: Duration
    /// Send `Authorization: Bearer <access token>` upstream on signed-in requests.
    public var passAccessToken = true
    /// Send `X-Forwarded-User`, `-Email`, `-Groups`, `-Preferred-Username` upstream.
    public var passIdentityHeaders = true
    public var identityHeaders = IdentityHeaderNames()
    /// `provider:` — whose sessions this route takes (and where its logins go); nil = the first.
    public var provider: String?
    /// `providers:` — `auth: bearer`: whose access tokens are accepted; empty = `provider`'s.
    public var providers: [String] = []
    /// `token_exchange:` — send the app a token of its own (RFC 8693) instead of the session's.
    public var tokenExchange: TokenExchange?
    /// `headers:` — more headers for the upstream, filled in from the identity, in the order given.
    public var headers: [TemplatedHeader] = []
    public var allow: Allow?
    /// Methods the route accepts; others get 405. Nil = all.
    public var methods: [String]?
    public var skipAuth: [SkipAuth] = []
    /// `auth: bearer`: accepted `aud` values of access tokens.
    public var audiences: [String] = []
    /// `auth: bearer`: a browser session is accepted too.
    public var allowSession = false
    /// Origins whose scripts may read Porteiro's 401 answers (CORS), so SPAs can re-login.
    public var corsOrigins: [String] = []
    /// Let the client's own `Authorization` through where Porteiro sends no token of its own (a
    /// public route in front of an API with its own auth). Off: it is removed on every route, so an
    /// app never mistakes a client's token for one Porteiro verified.
    public var passClientAuthorization = false
    /// Match the path prefix ignoring ASCII case, for upstreams that do (IIS): otherwise `/ADMIN/`
    /// would miss this route and reach the same app through a weaker one.
    public var caseInsensitive = false

    /// `token_exchange: { audience, scope }`: what to ask the provider's token endpoint for.
    public struct TokenExchange: Sendable, Hashable {
        /// The app the token is for (`audience`, RFC 8693 §2.1).
        public var audience: String
        /// Space-separated scopes; nil = the provider's default for the exchange.
        public var scope: String?

        public init(audience: String, scope: String? = nil) {
            self.audience = audience
            self.scope = scope
        }
    }

    /// The names identity is sent under; legacy apps often expect their own (`X-Remote-User`).
    public struct IdentityHeaderNames: Sendable, Equatable {
        public var user = "X-Forwarded-User"
        public var email = "X-Forwarded-Email"
        public var groups = "X-Forwarded-Groups"
        public var preferredUsername = "X-Forwarded-Preferred-Username"

        public init() {}

        public var all: [String] { [user, email, groups, preferredUsername] }
    }

    public init(
        host: String? = nil,
        path: String = "/",
        upstream: String,
        auth: Auth = .required,
        stripPrefix: Bool = false,
        preserveHost: Bool = true,
        timeout: Duration = .seconds(30)
    ) {
        self.host = host
        self.path = path
        self.upstream = upstream
        self.auth = auth
        self.stripPrefix = stripPrefix
        self.preserveHost = preserveHost
        self.timeout = timeout
    }
}

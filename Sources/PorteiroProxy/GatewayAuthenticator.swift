public import NIOHTTP1
public import PorteiroConfig
public import PorteiroPolicy
public import PorteiroRouting
public import PorteiroSessions

/// The proxy's seam to login. Everything about cookies, sessions and the IdP lives behind it, so
/// the data path can be tested with a fake and the per-request part stays synchronous.
public protocol GatewayAuthenticator: Sendable {
    /// True once the provider's metadata and keys are loaded; `/ready` waits for it.
    var isReady: Bool { get }
    /// The names of the providers that are not ready (for `/ready` to say which).
    var notReady: [String] { get }
    /// Changes whenever a session is revoked: a connection's remembered session is reused only
    /// while this is what it was when the session was opened.
    var revocationGeneration: UInt64 { get }
    /// Per request, no I/O: who the cookies say is signed in.
    func authenticate(_ request: AuthRequest) -> Authentication
    /// An API client's access token verified before and not yet expired: its user, without I/O.
    /// `providers`: the route's (`Route.bearerProviders`), whose tokens it accepts.
    func cachedBearer(_ token: String, audiences: Set<String>, providers: [Int], now: Int64) -> SignedInUser?
    /// Verifies an API client's JWT access token (signature against the JWKS of the provider
    /// among `providers` that issued it, iss, exp/nbf, one of `audiences`) and remembers the
    /// result until the token expires; nil when invalid.
    func verifyBearer(_ token: String, audiences: Set<String>, providers: [Int], now: Int64) async -> SignedInUser?
    /// Who a pending session belongs to, without I/O, when that is known (an expiring session).
    func identity(of pending: PendingSession) -> SignedInUser?
    /// Finishes a pending session off the event loop: reads it from the session store, refreshes
    /// it when it expires (single flight per session).
    func resolve(_ pending: PendingSession, request: AuthRequest) async -> Authentication
    /// The answer that sends an anonymous browser to the IdP and back to `returnTo`.
    func startLogin(_ request: AuthRequest, returnTo: String?) -> LocalResponse
    /// `/oauth2/start`, `/oauth2/callback`, `/oauth2/sign_out`.
    func handle(_ endpoint: AuthEndpoint, _ request: AuthRequest) async -> LocalResponse
    /// `POST /oauth2/backchannel_logout` with its form body.
    func backchannelLogout(form body: String, request: AuthRequest) async -> LocalResponse
    /// The route's own token for this signed-in user (`token_exchange`, RFC 8693) when one is
    /// remembered and not due; nil = `exchangeToken` must ask the provider.
    func cachedExchangedToken(for user: SignedInUser, _ exchange: RouteConfig.TokenExchange, now: Int64) -> String?
    /// Exchanges the user's access token at their provider's token endpoint (single flight per
    /// session and exchange) and remembers the result until it is due. Never the original token.
    func exchangeToken(for user: SignedInUser, _ exchange: RouteConfig.TokenExchange, now: Int64) async -> Result<String, TokenExchangeRefused>
}

/// The provider did not issue the route's token; `reason` is for the log (an OAuth error code, or
/// why the provider could not be asked).
public struct TokenExchangeRefused: Error, Sendable, Equatable {
    public var reason: String

    public init(reason: String) {
        self.reason = reason
    }
}

extension GatewayAuthenticator {
    public var notReady: [String] { [] }

    public func cachedExchangedToken(for user: SignedInUser, _ exchange: RouteConfig.TokenExchange, now: Int64) -> String? { nil }

    public func exchangeToken(for user: SignedInUser, _ exchange: RouteConfig.TokenExchange, now: Int64) async
        -> Result<String, TokenExchangeRefused>
    {
        .failure(TokenExchangeRefused(reason: "no provider can exchange tokens"))
    }
}

public enum AuthEndpoint: String, Sendable {
    case start = "/oauth2/start"
    case callback = "/oauth2/callback"
    case signOut = "/oauth2/sign_out"
}

/// What the authenticator sees of a request.
public struct AuthRequest: Sendable {
    public var method: HTTPMethod
    public var headers: HTTPHeaders
    public var target: RequestTarget
    public var requestID: String
    /// Unix seconds.
    public var now: Int64
    /// Index of the provider whose session counts (the route's), or where a login goes.
    public var provider: Int

    public init(
        method: HTTPMethod = .GET, headers: HTTPHeaders, target: RequestTarget, requestID: String, now: Int64, provider: Int = 0
    ) {
        self.method = method
        self.headers = headers
        self.target = target
        self.requestID = requestID
        self.now = now
        self.provider = provider
    }

    /// This request, for provider `index`'s session.
    public func at(provider index: Int) -> AuthRequest {
        var request = self
        request.provider = index
        return request
    }

    /// True when the browser says the request comes from this site's own pages, or from the user
    /// (typed, bookmarked): `Sec-Fetch-Site: same-origin` or `none`, or for a POST an `Origin` equal
    /// to `origin`. Used where a cross-site request must not act (sign-out).
    public func isSameOrigin(_ origin: String) -> Bool {
        switch headers.first(name: "sec-fetch-site")?.lowercased() {
        case "same-origin", "none": return true
        case .some: return false
        case nil: return method == .POST && headers.first(name: "origin")?.lowercased() == origin.lowercased()
        }
    }

    /// The request's cookies. `Cookie` is split on `;` only (RFC 6265 §4.2.1), never on commas as
    /// list headers are: a browser sends back `Set-Cookie: a=1, _porteiro=X` as one cookie `a`,
    /// and reading `_porteiro` out of it would let any app or sibling site plant a session.
    public var cookies: CookieHeader { CookieHeader(headers["cookie"]) }

    /// A top-level browser navigation, which may be redirected to the IdP. Anything else (XHR,
    /// fetch, API clients, non-GET) gets 401 instead: a redirect would break it.
    public func isNavigation(method: HTTPMethod) -> Bool {
        guard method == .GET || method == .HEAD else { return false }
        if headers.contains(name: "x-requested-with") { return false }
        if let mode = headers.first(name: "sec-fetch-mode"), mode.lowercased() != "navigate" { return false }
        return headers[canonicalForm: "accept"].contains { $0.lowercased().hasPrefix("text/html") }
    }
}

public enum Authentication: Sendable {
    case signedIn(SignedInUser)
    /// Needs I/O first: a refresh, or a session store read. → `resolve`.
    case pending(PendingSession)
    /// `clearCookies`: `Set-Cookie` values deleting cookies that did not open (tampered, expired).
    case anonymous(clearCookies: [String])
    /// A session whose access token has expired while the IdP cannot renew it (down, failing):
    /// kept, but not usable now — 503, try again. An expired token is never forwarded.
    case unavailable
}

/// A session that needs I/O before the request can go on; opaque to the proxy.
public struct PendingSession: Sendable {
    /// The session cookie's value, as the browser sent it.
    public var cookieValue: String
    /// The session when it is known and only needs a refresh; nil when it must be read first.
    public var session: Session?
    /// Index of the provider it belongs to.
    public var provider: Int

    public init(cookieValue: String, session: Session?, provider: Int = 0) {
        self.cookieValue = cookieValue
        self.session = session
        self.provider = provider
    }
}

/// The signed-in user as the upstream sees them. Values come from the IdP, so they are stripped
/// of control characters here: a claim can never split a header.
public struct SignedInUser: Sendable, Equatable {
    public var user: String
    public var email: String
    /// Whether policies may match `email` (`allow.emails`, `allow.email_domains`): the IdP said it
    /// is verified, or `provider.require_verified_email` is off.
    public var emailVerified: Bool
    public var groups: [String]
    public var roles: [String]
    /// Claims kept for policies (`allow.claims`).
    public var claims: [String: [String]]
    public var accessToken: String
    /// The IdP's `sub`, for `{subject}` in `routes[].headers`.
    public var subject: String
    /// The session's ID token, for `{id_token}`; nil for bearer callers.
    public var idToken: String?
    /// The provider the session is at, and the session's id (`token_exchange` remembers its
    /// tokens per session); empty for bearer callers.
    public var provider: Int = 0
    public var sessionID: String = ""
    /// `Set-Cookie` values for the response (a refreshed session).
    public var setCookies: [String]
    /// Unix seconds until which the same `Cookie` header means this same user, so a connection may
    /// reuse this answer instead of opening the cookie again; 0 = never.
    public var reusableUntil: Int64
    /// The authenticator's `revocationGeneration` when this session was checked.
    public var revocationGeneration: UInt64 = 0

    public init(
        user: String, email: String, emailVerified: Bool = true, groups: [String], roles: [String] = [],
        claims: [String: [String]] = [:], accessToken: String, subject: String = "", idToken: String? = nil,
        setCookies: [String] = [], reusableUntil: Int64 = 0
    ) {
        self.user = headerSafe(user)
        self.email = headerSafe(email)
        self.emailVerified = emailVerified
        // A comma, or spaces at either end, cannot be told apart in `X-Forwarded-Groups: a,b`: an
        // app that splits and trims would see `admins` where the policy saw ` admins `.
        self.groups = groups.map(headerSafe).filter {
            !$0.isEmpty && !$0.contains(",") && $0.first?.isWhitespace == false && $0.last?.isWhitespace == false
        }
        self.roles = roles
        self.claims = claims
        self.accessToken = headerSafe(accessToken)
        self.subject = subject
        self.idToken = idToken
        self.setCookies = setCookies
        self.reusableUntil = reusableUntil
    }
}

extension SignedInUser {
    /// The same user with the token the app gets instead (`token_exchange`).
    func withAccessToken(_ token: String) -> SignedInUser {
        var user = self
        user.accessToken = token
        return user
    }

    /// A placeholder's value for `routes[].headers`; nil when this identity has none.
    public func headerValues(_ source: HeaderTemplate.Source) -> [String]? {
        switch source {
        case .user: [user]
        case .email: [email]
        case .subject: [subject]
        case .groups: groups
        case .roles: roles
        case .claim(let path): claims[path]
        case .accessToken: [accessToken]
        case .idToken: idToken.map { [$0] }
        }
    }

    public var policySubject: PolicySubject {
        PolicySubject(user: user, email: emailVerified ? email : "", groups: groups, roles: roles, claims: claims)
    }
}

/// A value from the IdP as a header may carry it: as it is, or empty when it holds a control,
/// separator or invisible character — never cleaned into another name (`e\u{0}ve` is not `eve`).
private func headerSafe(_ value: String) -> String {
    value.unicodeScalars.contains(where: HeaderTemplate.isControl) ? "" : value
}

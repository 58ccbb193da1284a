public import Logging
import NIOHTTP1
public import PorteiroConfig
public import PorteiroMetrics
import PorteiroOIDC
public import PorteiroProxy
public import PorteiroSessions

/// Sessions in encrypted cookies, login with the authorization code flow and PKCE: Porteiro's
/// `GatewayAuthenticator`. Reading a session is synchronous and local (a cookie to open); only
/// login, refresh and userinfo talk to the IdP.
public final class CookieAuthenticator: GatewayAuthenticator {
    let provider: ProviderConfig
    let directory: ProviderDirectory
    let client: ProviderClient
    let sealer: SessionSealer
    let cookies: CookieSettings
    let returnTargets: ReturnTarget
    let verifier: IDTokenVerifier
    let logoutVerifier: LogoutTokenVerifier
    /// Sessions ended by the IdP (back-channel logout), shared by replicas through the store.
    let revocations: any RevocationStore
    let publicURL: String
    let redirectURI: String
    let lifetime: Int64
    let refreshMargin: Int64
    let refresher: RefreshCoordinator
    let pages: PageRenderer
    /// Claim paths some route's `allow.claims` reads; sessions keep only these claims.
    let policyClaimPaths: Set<String>
    let bearerCache = BearerTokenCache()
    let metrics: GatewayMetrics
    let logger: Logger

    /// `config` must have passed validation (provider, session and public URL present).
    public init(
        config: GatewayConfig, directory: ProviderDirectory, client: ProviderClient, revocations: any RevocationStore,
        metrics: GatewayMetrics, logger: Logger
    ) {
        let provider = config.provider!
        let session = config.session!
        let publicURL = config.server.publicURL!.hasSuffix("/") ? String(config.server.publicURL!.dropLast()) : config.server.publicURL!
        self.provider = provider
        self.directory = directory
        self.client = client
        self.sealer = SessionSealer(secrets: session.secrets.compactMap(SessionSecret.decode))
        self.cookies = CookieSettings(
            name: session.cookieName, secure: PublicURL.parse(publicURL)?.scheme == .https, domain: session.cookieDomain,
            hostPrefix: session.cookieHostPrefix)
        self.returnTargets = ReturnTarget(publicURL: publicURL, allowedHosts: config.server.allowedRedirectHosts)
        self.verifier = IDTokenVerifier(
            issuer: provider.issuer, clientID: provider.clientID, clockSkew: provider.clockSkew,
            hmacSecret: provider.hmacIDTokens ? provider.clientSecret : nil)
        self.logoutVerifier = LogoutTokenVerifier(tokens: verifier)
        self.revocations = revocations
        self.publicURL = publicURL
        self.redirectURI = publicURL + AuthEndpoint.callback.rawValue
        self.lifetime = session.lifetime.components.seconds
        self.refreshMargin = session.refreshBefore.components.seconds
        self.refresher = RefreshCoordinator(metrics: metrics, logger: logger)
        self.pages = PageRenderer(template: config.server.errorPageTemplate)
        self.policyClaimPaths = Set(config.routes.flatMap { $0.allow?.claims.keys.map { $0 } ?? [] })
        self.metrics = metrics
        self.logger = logger
    }

    /// The provider is loaded and the revocation list is fresh enough to trust.
    public var isReady: Bool { directory.isReady && revocations.cache.isFresh() }

    public var revocationGeneration: UInt64 { revocations.cache.generation }

    public func authenticate(_ request: AuthRequest) -> Authentication {
        let jar = CookieHeader(request.headers[canonicalForm: "cookie"].map(String.init))
        guard let sealed = CookieChunks.read(jar, name: cookies.fullName) else { return .anonymous(clearCookies: []) }
        guard let bytes = sealer.open(sealed, purpose: "session"), let session = Session(decoding: bytes) else {
            metrics.sessionCookieRejected(.unreadable)
            return .anonymous(clearCookies: CookieChunks.deleteAll(settings: cookies, present: jar))
        }
        guard session.expiresAt > request.now else {
            metrics.sessionCookieRejected(.expired)
            return .anonymous(clearCookies: CookieChunks.deleteAll(settings: cookies, present: jar))
        }
        // Read before the check: a revocation landing in between changes it, so no memo outlives it.
        let generation = revocations.cache.generation
        guard !revocations.cache.revokes(session) else {
            metrics.sessionCookieRejected(.revoked)
            return .anonymous(clearCookies: CookieChunks.deleteAll(settings: cookies, present: jar))
        }
        if session.needsRefresh(now: request.now, margin: refreshMargin) {
            return .refreshNeeded(PendingRefresh(session: session))
        }
        var signedIn = user(for: session, setCookies: [])
        // Until the session ends or its refresh falls due, this cookie keeps meaning this user.
        let refreshDue = session.refreshToken != nil && session.accessTokenExpiresAt != 0
            ? session.accessTokenExpiresAt - refreshMargin : Int64.max
        signedIn.reusableUntil = min(session.expiresAt, refreshDue)
        signedIn.revocationGeneration = generation
        return .signedIn(signedIn)
    }

    public func startLogin(_ request: AuthRequest, returnTo: String?) -> LocalResponse {
        guard let metadata = directory.metadata else {
            return page(.serviceUnavailable, .loginUnavailable, request, extra: ["Retry-After": "5"])
        }
        metrics.loginsStarted.increment()
        let attempt = AuthorizationRequest.random()
        let state = LoginState(
            state: attempt.state, nonce: attempt.nonce, codeVerifier: attempt.pkce.verifier,
            returnTo: returnTargets.validate(returnTo), createdAt: request.now)
        let name = LoginState.cookieName(prefix: cookies.fullName, state: attempt.state)
        var headers: HTTPHeaders = [
            "Location": attempt.url(endpoint: metadata.authorizationEndpoint, provider: provider, redirectURI: redirectURI),
            "Cache-Control": "no-store",
        ]
        headers.add(name: "Set-Cookie", value: cookies.setCookie(
            name: name, value: sealer.seal(state.encoded(), purpose: "state"), maxAge: Int(LoginState.lifetime)))
        for stale in staleLoginStates(request) { headers.add(name: "Set-Cookie", value: stale) }
        return LocalResponse(status: .found, headers: headers, body: "")
    }

    public func identity(of pending: PendingRefresh) -> SignedInUser {
        user(for: pending.session, setCookies: [])
    }

    public func refresh(_ pending: PendingRefresh, request: AuthRequest) async -> Authentication {
        let jar = CookieHeader(request.headers[canonicalForm: "cookie"].map(String.init))
        let outcome = await refresher.refresh(pending.session, now: request.now) { [self] session in
            try await self.refreshedSession(session, now: request.now)
        }
        switch outcome {
        case .refreshed(let session):
            return .signedIn(user(for: session, setCookies: sessionCookies(session, present: jar)))
        case .keep(let session):
            return .signedIn(user(for: session, setCookies: []))
        case .ended:
            return .anonymous(clearCookies: CookieChunks.deleteAll(settings: cookies, present: jar))
        }
    }

    // MARK: Pieces shared by the endpoints

    func user(for session: Session, setCookies: [String]) -> SignedInUser {
        SignedInUser(
            user: session.user, email: session.email, groups: session.groups, roles: session.roles,
            claims: session.claims, accessToken: session.accessToken, setCookies: setCookies)
    }

    /// The claims route policies read, taken from a token's claims.
    func policyClaims(from claims: ClaimValue) -> [String: [String]] {
        Dictionary(uniqueKeysWithValues: policyClaimPaths.compactMap { path in claims.value(at: path).map { (path, $0.strings) } })
    }

    func sessionCookies(_ session: Session, present: CookieHeader) -> [String] {
        let value = sealer.seal(session.encoded(), purpose: "session")
        return CookieChunks.write(value, settings: cookies, maxAge: Int(session.expiresAt - session.createdAt), present: present)
    }

    /// Expired login-state cookies, and all but the newest few, so abandoned attempts never push
    /// the request headers past the limits; at most `LoginState.maxExpiredPerResponse` at a time.
    func staleLoginStates(_ request: AuthRequest) -> [String] {
        let jar = CookieHeader(request.headers[canonicalForm: "cookie"].map(String.init))
        let prefix = cookies.fullName + "_state_"
        let states = jar.names(withPrefix: prefix).map { name -> (String, Int64) in
            let opened = jar[name].flatMap { sealer.open($0, purpose: "state") }.flatMap(LoginState.init(decoding:))
            return (name, opened.map { $0.isExpired(now: request.now) ? 0 : $0.createdAt } ?? 0)
        }.sorted { $0.1 > $1.1 }
        let keep = LoginState.maxConcurrent - 1
        return states.enumerated().filter { $0.offset >= keep || $0.element.1 == 0 }
            .prefix(LoginState.maxExpiredPerResponse)
            .map { cookies.setCookie(name: $0.element.0, value: "", maxAge: 0) }
    }

    func page(_ status: HTTPResponseStatus, _ text: PageText, _ request: AuthRequest, extra: HTTPHeaders = [:]) -> LocalResponse {
        pages.error(status, text, requestID: request.requestID, request: request.headers, extraHeaders: extra)
    }
}

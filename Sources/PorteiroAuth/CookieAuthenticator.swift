import Foundation
public import Logging
import NIOHTTP1
public import PorteiroConfig
public import PorteiroMetrics
import PorteiroOIDC
public import PorteiroProxy
public import PorteiroSessions

/// Sessions in encrypted cookies (or, with `session.store: postgres`, a sealed id in the cookie),
/// login with the authorization code flow and PKCE: Porteiro's `GatewayAuthenticator`. Reading a
/// session is synchronous and local (a cookie to open, or this replica's cache); only login,
/// refresh, userinfo and a cache miss do I/O.
public final class CookieAuthenticator: GatewayAuthenticator {
    /// Which of the configuration's providers this is (`providers:` order) and its name.
    let index: Int
    let name: String
    let provider: ProviderConfig
    let directory: ProviderDirectory
    let client: ProviderClient
    let sealer: SessionSealer
    let sessions: any SessionStore
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
    /// `session.idle_timeout` in seconds; 0 = none.
    let idleTimeout: Int64
    let refresher: RefreshCoordinator
    let pages: PageRenderer
    /// Claim paths some route reads (`allow.claims`, `{claims.…}` in `headers`); sessions keep
    /// only these claims, so cookies stay small.
    let keptClaimPaths: Set<String>
    let bearerCache = BearerTokenCache()
    /// `token_exchange` tokens by session and route exchange.
    let exchanges: TokenExchanges
    let metrics: GatewayMetrics
    let logger: Logger
    /// Unix seconds now, read where a request's own time is too old (after a call to the IdP).
    let clock: @Sendable () -> Int64

    /// Logins and sessions at provider `index` of `config`, which must have passed validation
    /// (providers, session and public URL present). `sessions`: nil seals sessions into the cookie.
    public init(
        config: GatewayConfig, provider index: Int = 0, directory: ProviderDirectory, client: ProviderClient,
        sessions: (any SessionStore)? = nil, revocations: any RevocationStore, metrics: GatewayMetrics, logger: Logger,
        clock: @escaping @Sendable () -> Int64 = CookieAuthenticator.systemClock
    ) {
        let provider = config.providers[index].config
        let session = config.session!
        self.index = index
        self.name = config.providers[index].name
        let publicURL = config.server.publicURL!.hasSuffix("/") ? String(config.server.publicURL!.dropLast()) : config.server.publicURL!
        self.provider = provider
        self.directory = directory
        self.client = client
        self.sealer = Self.sealer(for: session, provider: provider)
        self.sessions = sessions ?? CookieSessionStore(sealer: sealer, idleTimeout: session.idleTimeoutSeconds)
        self.cookies = CookieSettings(
            name: config.sessionCookieName(provider: index), secure: PublicURL.parse(publicURL)?.scheme == .https, domain: session.cookieDomain,
            hostPrefix: session.usesHostPrefix(publicURL: publicURL))
        self.returnTargets = ReturnTarget(publicURL: publicURL, allowedHosts: config.server.allowedRedirectHosts)
        self.verifier = IDTokenVerifier(
            issuer: provider.issuer, clientID: provider.clientID, clockSkew: provider.clockSkew,
            hmacSecret: provider.hmacIDTokens ? provider.clientSecret : nil)
        self.logoutVerifier = LogoutTokenVerifier(tokens: verifier)
        self.revocations = revocations
        self.publicURL = publicURL
        // One redirect URI per provider (the first keeps the plain one): a response that reaches
        // one provider's callback is never taken for another's (IdP mix-up, RFC 9700 §4.4.2).
        self.redirectURI = publicURL + AuthEndpoint.callback.rawValue + (index == 0 ? "" : "/" + name)
        self.lifetime = session.lifetime.components.seconds
        self.refreshMargin = session.refreshBefore.components.seconds
        self.idleTimeout = session.idleTimeoutSeconds
        self.exchanges = TokenExchanges(margin: session.refreshBefore.components.seconds)
        self.refresher = RefreshCoordinator(margin: session.refreshBefore.components.seconds, metrics: metrics, logger: logger)
        self.pages = PageRenderer(template: config.server.errorPageTemplate)
        self.keptClaimPaths = config.keptClaimPaths
        self.metrics = metrics
        var logger = logger
        if config.providers.count > 1 { logger[metadataKey: "provider"] = "\(self.name)" }
        self.logger = logger
        self.clock = clock
    }

    /// Unix seconds from the system clock.
    public static let systemClock: @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970) }

    /// Seals cookies (and session rows) under `session.secrets`: the first seals, all open.
    /// Bound to the provider's issuer and client id: another deployment sharing the secrets (with
    /// another IdP, say) cannot hand out sessions this one accepts.
    public static func sealer(for session: SessionConfig, provider: ProviderConfig) -> SessionSealer {
        SessionSealer(secrets: session.secrets.compactMap(SessionSecret.decode), context: provider.issuer + " " + provider.clientID)
    }

    /// The provider is loaded and the revocation list is fresh enough to trust.
    public var isReady: Bool { directory.isReady && revocations.cache.isFresh() }

    public var notReady: [String] { directory.isReady ? [] : [name] }

    public var revocationGeneration: UInt64 { revocations.cache.generation }

    public func authenticate(_ request: AuthRequest) -> Authentication {
        let jar = request.cookies
        if CookieChunks.isConflicting(jar, name: cookies.fullName) {
            metrics.sessionCookieRejected(.conflicting)
            logger.notice("two different session values in one request; treated as anonymous", metadata: ["request_id": "\(request.requestID)"])
            return .anonymous(clearCookies: CookieChunks.deleteConflicting(
                settings: cookies, present: jar, requestPath: request.target.path, host: request.headers.first(name: "host")))
        }
        guard let value = CookieChunks.read(jar, name: cookies.fullName) else { return .anonymous(clearCookies: []) }
        switch sessions.cachedSession(for: value, now: request.now) {
        case .found(let session): return admitted(session, cookieValue: value, jar: jar, now: request.now)
        case .rejected(let reason): return rejected(reason, jar: jar)
        case .unknown: return .pending(PendingSession(cookieValue: value, session: nil, provider: index))
        }
    }

    /// An opened, unexpired session: signed in, unless revoked, due for a refresh, or holding an
    /// expired access token nothing can renew.
    func admitted(_ session: Session, cookieValue: String, jar: CookieHeader, now: Int64) -> Authentication {
        // Read before the check: a revocation landing in between changes it, so no memo outlives it.
        let generation = revocations.cache.generation
        guard !revocations.cache.revokes(session, issuer: provider.issuer) else {
            metrics.sessionCookieRejected(.revoked)
            return .anonymous(clearCookies: CookieChunks.deleteAll(settings: cookies, present: jar))
        }
        let freshUntil: Int64
        switch session.tokenState(now: now, margin: refreshMargin) {
        case .refreshDue:
            return .pending(PendingSession(cookieValue: cookieValue, session: session, provider: index))
        case .expired:
            metrics.sessionCookieRejected(.tokenExpired)
            return .anonymous(clearCookies: CookieChunks.deleteAll(settings: cookies, present: jar))
        case .fresh(let until):
            freshUntil = until
        }
        let activityDue = session.activityDueAt(idleTimeout: idleTimeout)
        if now >= activityDue { return .pending(PendingSession(cookieValue: cookieValue, session: session, provider: index)) }
        var signedIn = user(for: session, setCookies: [])
        // Until the session ends, its token falls due or its activity is worth recording, this
        // cookie keeps meaning this user (and, with a shared session store, no longer than a
        // replica may trust its cache).
        let storeLimit = sessions.reuseLimit.map { now + $0.components.seconds } ?? Int64.max
        signedIn.reusableUntil = min(session.expiresAt, freshUntil, storeLimit, activityDue)
        signedIn.revocationGeneration = generation
        return .signedIn(signedIn)
    }

    func rejected(_ reason: SessionLookup.Rejection, jar: CookieHeader) -> Authentication {
        switch reason {
        case .expired: metrics.sessionCookieRejected(.expired)
        case .idle: metrics.sessionCookieRejected(.idle)
        case .unreadable: metrics.sessionCookieRejected(.unreadable)
        }
        return .anonymous(clearCookies: CookieChunks.deleteAll(settings: cookies, present: jar))
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

    public func identity(of pending: PendingSession) -> SignedInUser? {
        pending.session.map { user(for: $0, setCookies: []) }
    }

    public func resolve(_ pending: PendingSession, request: AuthRequest) async -> Authentication {
        let jar = request.cookies
        guard var session = pending.session else {
            return await read(pending.cookieValue, request: request, jar: jar)
        }
        if sessions.reuseLimit != nil {
            // A shared store: another replica may have refreshed it (or recorded its activity)
            // since this one cached it, and its refresh token may be spent. The stored session decides.
            switch try? await sessions.session(for: pending.cookieValue, now: request.now) {
            case .found(let latest)?:
                session = latest
            case .rejected(let reason)?:
                return rejected(reason, jar: jar)
            case .unknown?, nil:
                break
            }
        }
        guard session.tokenState(now: request.now, margin: refreshMargin) == .refreshDue else {
            guard request.now >= session.activityDueAt(idleTimeout: idleTimeout) else {
                return admitted(session, cookieValue: pending.cookieValue, jar: jar, now: request.now)
            }
            return await recordActivity(session, cookieValue: pending.cookieValue, jar: jar, now: request.now)
        }
        let outcome = await refresher.refresh(session, now: request.now) { [self] session in
            let refreshed = try await self.refreshedSession(session)
            let value = try await self.sessions.save(refreshed, replacing: pending.cookieValue, now: request.now)
            return (refreshed, value)
        }
        switch outcome {
        case .refreshed(let session, let value):
            let setCookies = value == pending.cookieValue ? [] : sessionCookies(value, for: session, present: jar)
            return .signedIn(user(for: session, setCookies: setCookies))
        case .keep(let session) where session.accessTokenExpired(now: request.now):
            return .unavailable
        case .keep(let session):
            return .signedIn(user(for: session, setCookies: []))
        case .ended:
            return .anonymous(clearCookies: CookieChunks.deleteAll(settings: cookies, present: jar))
        }
    }

    /// Saves `session` as used at `now` (`session.idle_timeout`): a fresh cookie, or the row
    /// updated. A store that cannot be reached costs the record, not the request; a session gone
    /// from it was signed out elsewhere.
    private func recordActivity(_ session: Session, cookieValue: String, jar: CookieHeader, now: Int64) async -> Authentication {
        var used = session
        used.lastSeenAt = now
        do {
            let value = try await sessions.save(used, replacing: cookieValue, now: now)
            return .signedIn(user(for: used, setCookies: value == cookieValue ? [] : sessionCookies(value, for: used, present: jar)))
        } catch is SessionGone {
            return .anonymous(clearCookies: CookieChunks.deleteAll(settings: cookies, present: jar))
        } catch {
            logger.warning("session store unreachable; activity not recorded", metadata: ["error": "\(String(reflecting: error))"])
            return .signedIn(user(for: session, setCookies: []))
        }
    }

    /// A session this replica has not cached: from the store, then as `authenticate` would. An
    /// unreachable store signs nobody out: the request is anonymous, the cookie kept.
    private func read(_ cookieValue: String, request: AuthRequest, jar: CookieHeader) async -> Authentication {
        let lookup: SessionLookup
        do {
            lookup = try await sessions.session(for: cookieValue, now: request.now)
        } catch {
            logger.warning("session store unreachable", metadata: ["error": "\(String(reflecting: error))", "request_id": "\(request.requestID)"])
            return .anonymous(clearCookies: [])
        }
        switch lookup {
        case .found(let session):
            let outcome = admitted(session, cookieValue: cookieValue, jar: jar, now: request.now)
            guard case .pending(let due) = outcome else { return outcome }
            return await resolve(due, request: request)
        case .rejected(let reason):
            return rejected(reason, jar: jar)
        case .unknown:
            return rejected(.unreadable, jar: jar)
        }
    }

    // MARK: Pieces shared by the endpoints

    func user(for session: Session, setCookies: [String]) -> SignedInUser {
        var user = SignedInUser(
            user: session.user, email: session.email, emailVerified: session.emailVerified || !provider.requireVerifiedEmail,
            groups: session.groups, roles: session.roles, claims: session.claims, accessToken: session.accessToken,
            subject: session.subject, idToken: session.idToken, setCookies: setCookies)
        user.provider = index
        user.sessionID = session.id
        return user
    }

    /// The claims routes read, taken from a token's claims.
    func keptClaims(from claims: ClaimValue) -> [String: [String]] {
        Dictionary(uniqueKeysWithValues: keptClaimPaths.compactMap { path in claims.value(at: path).map { (path, $0.strings) } })
    }

    /// `Set-Cookie` values carrying `value` (the store's cookie value for `session`).
    func sessionCookies(_ value: String, for session: Session, present: CookieHeader) -> [String] {
        CookieChunks.write(value, settings: cookies, maxAge: Int(session.expiresAt - session.createdAt), present: present)
    }

    /// Expired login-state cookies, and all but the newest few, so abandoned attempts never push
    /// the request headers past the limits; at most `LoginState.maxExpiredPerResponse` at a time.
    func staleLoginStates(_ request: AuthRequest) -> [String] {
        let jar = request.cookies
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

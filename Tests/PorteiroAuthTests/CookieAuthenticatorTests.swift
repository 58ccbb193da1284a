import Crypto
import Foundation
import Logging
import NIOHTTP1
import PorteiroConfig
import PorteiroMetrics
import PorteiroOIDC
import PorteiroProxy
import PorteiroRouting
@testable import PorteiroAuth
import PorteiroSessions
import Testing

/// Hostile session cookies at the authenticator: each one is anonymous (and cleared), never a
/// session and never an error.
@Suite struct CookieAuthenticatorTests {
    static let now: Int64 = 1_800_000_000

    static func secret() -> String { SymmetricKey(size: .bits256).withUnsafeBytes { Data($0).base64EncodedString() } }

    static func authenticator(
        secrets: [String], revocations: any RevocationStore = InMemoryRevocationStore(), idleTimeout: Duration? = nil
    ) -> CookieAuthenticator {
        var session = SessionConfig(secrets: secrets)
        session.idleTimeout = idleTimeout
        var config = GatewayConfig(
            provider: ProviderConfig(issuer: "https://iam.example.org/realms/gov", clientID: "portal", clientSecret: nil),
            session: session, routes: [RouteConfig(path: "/", upstream: "http://app")])
        config.server.publicURL = "https://portal.example.org"
        let logger = Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }
        let client = ProviderClient(provider: config.provider!, metrics: GatewayMetrics())
        let directory = ProviderDirectory(client: client, provider: config.provider!, logger: logger)
        return CookieAuthenticator(
            config: config, directory: directory, client: client, revocations: revocations, metrics: GatewayMetrics(), logger: logger)
    }

    /// The `Cookie` header a browser holding this sealed session would send (chunked when large).
    /// The public URL is https, so the cookie carries the `__Host-` prefix by default.
    static func cookieHeader(_ session: Session, secret: String, context: String = "https://iam.example.org/realms/gov portal") -> String {
        let sealer = SessionSealer(secrets: [SessionSecret.decode(secret)!], context: context)
        let settings = CookieSettings(name: "_porteiro", secure: true, hostPrefix: true)
        let value = sealer.seal(session.encoded(), purpose: "session")
        return CookieChunks.write(value, settings: settings, maxAge: 3600, present: CookieHeader([]))
            .map { String($0.prefix { $0 != ";" }) }.joined(separator: "; ")
    }

    static func session(expiresAt: Int64 = now + 3600, tokenBytes: Int = 64) -> Session {
        let token = (0..<tokenBytes).map { _ in String(UInt8.random(in: 0...255), radix: 16) }.joined()
        return Session(subject: "s", user: "maria", accessToken: token, createdAt: now - 60, expiresAt: expiresAt)
    }

    func authenticate(_ authenticator: CookieAuthenticator, cookie: String) -> Authentication {
        authenticator.authenticate(AuthRequest(
            headers: ["Cookie": cookie], target: try! RequestTarget.parse("/").get(), requestID: "r", now: Self.now))
    }

    func isAnonymousAndCleared(_ result: Authentication) -> Bool {
        guard case .anonymous(let clear) = result else { return false }
        return clear.contains { $0.hasPrefix("__Host-_porteiro") && $0.contains("Max-Age=0") }
    }

    /// Two deployments sharing a cookie secret (say with different IdPs) cannot open each other's
    /// sessions: the seal is bound to the issuer and client id.
    @Test func aSessionSealedForAnotherIssuerOrClientDoesNotOpen() {
        let secret = Self.secret()
        let authenticator = Self.authenticator(secrets: [secret])
        for context in ["https://evil.example.org/realms/gov portal", "https://iam.example.org/realms/gov other-client", ""] {
            #expect(isAnonymousAndCleared(authenticate(authenticator, cookie: Self.cookieHeader(Self.session(), secret: secret, context: context))))
        }
    }

    /// A browser stores `Set-Cookie: a=1, __Host-_porteiro=X` (from an app or a sibling site) as
    /// one cookie `a` and sends `Cookie: a=1, __Host-_porteiro=X`: that is no session.
    @Test(arguments: [", ", ","])
    func aCookieHiddenInAnotherCookiesValueIsNoSession(separator: String) {
        let secret = Self.secret()
        let authenticator = Self.authenticator(secrets: [secret])
        let planted = "a=1" + separator + Self.cookieHeader(Self.session(), secret: secret)
        guard case .anonymous = authenticate(authenticator, cookie: planted) else {
            Issue.record("a session read out of another cookie's value")
            return
        }
    }

    @Test func aValidCookieSignsIn() {
        let secret = Self.secret()
        guard case .signedIn(let user) = authenticate(Self.authenticator(secrets: [secret]), cookie: Self.cookieHeader(Self.session(), secret: secret))
        else {
            Issue.record("expected a session")
            return
        }
        #expect(user.user == "maria")
    }

    @Test func anExpiredPayloadIsAnonymousWhateverTheCookiesMaxAge() {
        let secret = Self.secret()
        let expired = Self.cookieHeader(Self.session(expiresAt: Self.now - 1), secret: secret)
        #expect(isAnonymousAndCleared(authenticate(Self.authenticator(secrets: [secret]), cookie: expired)))
    }

    @Test func aCookieSealedUnderARetiredSecretIsAnonymous() {
        let retired = Self.secret()
        let cookie = Self.cookieHeader(Self.session(), secret: retired)
        #expect(isAnonymousAndCleared(authenticate(Self.authenticator(secrets: [Self.secret()]), cookie: cookie)))
        guard case .signedIn = authenticate(Self.authenticator(secrets: [Self.secret(), retired]), cookie: cookie) else {
            Issue.record("while still listed, the old secret opens its cookies")
            return
        }
    }

    @Test func aChunkFromAnotherSessionIsAnonymous() throws {
        let secret = Self.secret()
        let authenticator = Self.authenticator(secrets: [secret])
        let first = Self.cookieHeader(Self.session(tokenBytes: 4_000), secret: secret).components(separatedBy: "; ")
        let second = Self.cookieHeader(Self.session(tokenBytes: 4_000), secret: secret).components(separatedBy: "; ")
        try #require(first.count >= 2 && first.count == second.count, "both sessions span several cookies")
        let spliced = ([first[0]] + second.dropFirst()).joined(separator: "; ")
        #expect(isAnonymousAndCleared(authenticate(authenticator, cookie: spliced)))
        let reordered = ([first[1], first[0]] + first.dropFirst(2)).enumerated().map { index, pair in
            "__Host-_porteiro_\(index)=" + pair.split(separator: "=", maxSplits: 1)[1]
        }.joined(separator: "; ")
        #expect(isAnonymousAndCleared(authenticate(authenticator, cookie: reordered)))
    }

    @Test func aRevokedSessionIsAnonymousAndClearedAndOthersAreNot() async throws {
        let secret = Self.secret()
        let store = InMemoryRevocationStore()
        let authenticator = Self.authenticator(secrets: [secret], revocations: store)
        var ended = Self.session()
        ended.sid = "idp-session-1"
        var other = Self.session()
        other.sid = "idp-session-2"
        let generation = authenticator.revocationGeneration
        try await store.revoke(Revocation(target: .session(sid: "idp-session-1"), expiresAt: Self.now + 60), now: Self.now)
        #expect(authenticator.revocationGeneration != generation)
        #expect(isAnonymousAndCleared(authenticate(authenticator, cookie: Self.cookieHeader(ended, secret: secret))))
        guard case .signedIn = authenticate(authenticator, cookie: Self.cookieHeader(other, secret: secret)) else {
            Issue.record("another IdP session of the same user is not ended")
            return
        }
        try await store.revoke(
            Revocation(target: .subject(sub: "s", loggedInBefore: Self.now - 60), expiresAt: Self.now + 60), now: Self.now)
        #expect(isAnonymousAndCleared(authenticate(authenticator, cookie: Self.cookieHeader(other, secret: secret))),
                "every session of the subject begun by the cutoff")
        var later = Self.session()
        later.createdAt = Self.now - 10
        guard case .signedIn = authenticate(authenticator, cookie: Self.cookieHeader(later, secret: secret)) else {
            Issue.record("a session begun after the cutoff is not ended")
            return
        }
    }

    func request(cookie: String, path: String = "/", host: String = "portal.example.org", now: Int64 = now) -> AuthRequest {
        AuthRequest(headers: ["Cookie": cookie, "Host": host], target: try! RequestTarget.parse(path).get(), requestID: "r", now: now)
    }

    /// Cookie tossing: a session cookie planted at a longer `Path` (or a parent `Domain`) arrives
    /// first and used to win. Two different values → anonymous, and every place a planted copy
    /// could sit is cleared.
    @Test func twoDifferentSessionCookiesAreAnonymousAndBothCleared() {
        let secret = Self.secret()
        let authenticator = Self.authenticator(secrets: [secret])
        let victim = Self.cookieHeader(Self.session(), secret: secret)
        let attacker = Self.cookieHeader(Self.session(), secret: secret)
        let result = authenticator.authenticate(request(cookie: attacker + "; " + victim, path: "/admin/report", host: "app.example.org"))
        guard case .anonymous(let clear) = result else { Issue.record("expected anonymous, got \(result)"); return }
        for path in ["/", "/admin", "/admin/", "/admin/report"] {
            #expect(clear.contains { $0.hasPrefix("__Host-_porteiro=;") && $0.contains("Path=\(path);") }, "\(path)")
        }
        #expect(clear.count <= 32)
        guard case .signedIn = authenticator.authenticate(request(cookie: victim + "; " + victim)) else {
            Issue.record("the same value twice is one session")
            return
        }
    }

    /// With no refresh token, an expired access token ends the session (a new login, usually
    /// silent at the IdP) — never an expired token forwarded to the app. Until then, a connection
    /// reuses the session no longer than the token lives.
    @Test func anExpiredTokenWithoutARefreshTokenEndsTheSession() {
        let secret = Self.secret()
        let authenticator = Self.authenticator(secrets: [secret])
        var session = Self.session()
        session.accessTokenIssuedAt = Self.now - 4
        session.accessTokenExpiresAt = Self.now + 1
        let cookie = Self.cookieHeader(session, secret: secret)
        guard case .signedIn(let user) = authenticator.authenticate(request(cookie: cookie)) else {
            Issue.record("a live token signs in")
            return
        }
        #expect(user.reusableUntil == Self.now + 1, "the memo never outlives the token")
        #expect(isAnonymousAndCleared(authenticator.authenticate(request(cookie: cookie, now: Self.now + 1))))
    }

    /// An IdP whose clock runs behind hands out tokens that are expired on arrival (`exp` in
    /// Porteiro's past, or `expires_in: 0`): neither a login nor a refresh may keep one.
    @Test func anAccessTokenExpiredOnArrivalIsRefused() throws {
        func jwt(exp: Int64) -> String {
            let part = { (json: String) in
                Data(json.utf8).base64EncodedString().replacingOccurrences(of: "=", with: "")
                    .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            }
            return part(#"{"alg":"RS256","typ":"at+jwt"}"#) + "." + part(#"{"exp":\#(exp)}"#) + ".c2ln"
        }
        let expiredOnArrival = [
            TokenResponse(accessToken: jwt(exp: Self.now - 30), expiresIn: 300),
            TokenResponse(accessToken: jwt(exp: Self.now), expiresIn: nil),
            TokenResponse(accessToken: "opaque", expiresIn: 0),
        ]
        for tokens in expiredOnArrival {
            #expect(throws: ProviderClient.Failure.self) { try CookieAuthenticator.unexpired(tokens, now: Self.now) }
        }
        #expect(try CookieAuthenticator.unexpired(TokenResponse(accessToken: jwt(exp: Self.now + 60), expiresIn: 300), now: Self.now) == Self.now + 60)
        #expect(try CookieAuthenticator.unexpired(TokenResponse(accessToken: "opaque", expiresIn: 300), now: Self.now) == Self.now + 300)
        #expect(try CookieAuthenticator.unexpired(TokenResponse(accessToken: "opaque"), now: Self.now) == 0, "no lifetime known: kept")
    }

    @Test func aSessionDueForRefreshIsPendingAndAShortTokenShrinksTheMargin() {
        let secret = Self.secret()
        let authenticator = Self.authenticator(secrets: [secret])
        var session = Self.session()
        session.refreshToken = "r"
        session.accessTokenIssuedAt = Self.now
        session.accessTokenExpiresAt = Self.now + 5
        let cookie = Self.cookieHeader(session, secret: secret)
        guard case .signedIn = authenticator.authenticate(request(cookie: cookie)) else {
            Issue.record("a 5 s token is not refreshed at once under the default 60 s margin")
            return
        }
        guard case .pending = authenticator.authenticate(request(cookie: cookie, now: Self.now + 3)) else {
            Issue.record("at half its lifetime a refresh falls due")
            return
        }
    }

    /// `session.idle_timeout: 600s`: activity is recorded (a fresh cookie) a tenth of the timeout
    /// after the last record, the memo never outlives that moment, and a cookie unused for the
    /// whole timeout is anonymous and cleared — while its lifetime still runs.
    @Test func anIdleSessionEndsAndActivityIsRecordedATenthOfTheTimeoutApart() async {
        let secret = Self.secret()
        let authenticator = Self.authenticator(secrets: [secret], idleTimeout: .seconds(600))
        var session = Self.session()  // created a minute before `now`
        session.createdAt = Self.now
        let cookie = Self.cookieHeader(session, secret: secret)
        guard case .signedIn(let user) = authenticator.authenticate(request(cookie: cookie, now: Self.now + 59)) else {
            Issue.record("a session used within a tenth of the timeout signs in as it is")
            return
        }
        #expect(user.reusableUntil == Self.now + 60 && user.setCookies.isEmpty)
        guard case .pending(let due) = authenticator.authenticate(request(cookie: cookie, now: Self.now + 60)) else {
            Issue.record("a tenth of the timeout later, its activity is worth recording")
            return
        }
        guard case .signedIn(let recorded) = await authenticator.resolve(due, request: request(cookie: cookie, now: Self.now + 60)),
              let fresh = recorded.setCookies.first(where: { $0.hasPrefix("__Host-_porteiro=") })
        else {
            Issue.record("recording activity signs in with a fresh cookie")
            return
        }
        let freshCookie = String(fresh.prefix { $0 != ";" })
        guard case .signedIn = authenticator.authenticate(request(cookie: freshCookie, now: Self.now + 119)),
              case .pending = authenticator.authenticate(request(cookie: freshCookie, now: Self.now + 659))
        else {
            Issue.record("the fresh cookie lives 600 s from the recorded activity (recording again from 60 s on)")
            return
        }
        #expect(isAnonymousAndCleared(authenticator.authenticate(request(cookie: freshCookie, now: Self.now + 660))))
        #expect(isAnonymousAndCleared(authenticator.authenticate(request(cookie: cookie, now: Self.now + 600))), "the old one idles out on its own")
        guard case .signedIn = Self.authenticator(secrets: [secret]).authenticate(request(cookie: cookie, now: Self.now + 3000)) else {
            Issue.record("without an idle timeout only the lifetime counts")
            return
        }
    }

    /// `providers: { gov, partners }`: a session at one is no session at the other, whatever
    /// cookie name it is sent under, and a login's state belongs to the provider that started it.
    @Test func aSessionAtOneProviderIsNoSessionAtAnother() {
        let secret = Self.secret()
        var config = GatewayConfig(session: SessionConfig(secrets: [secret]), routes: [RouteConfig(path: "/", upstream: "http://app")])
        config.providers = ["gov", "partners"].map {
            NamedProvider(name: $0, config: ProviderConfig(issuer: "https://iam.example.org/realms/\($0)", clientID: "portal", clientSecret: nil))
        }
        config.server.publicURL = "https://portal.example.org"
        let logger = Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }
        let each = config.providers.indices.map { index in
            let client = ProviderClient(provider: config.providers[index].config, metrics: GatewayMetrics())
            return CookieAuthenticator(
                config: config, provider: index, directory: ProviderDirectory(client: client, provider: config.providers[index].config, logger: logger),
                client: client, revocations: InMemoryRevocationStore(), metrics: GatewayMetrics(), logger: logger)
        }
        let both = ProviderAuthenticators(each)
        let gov = Self.cookieHeader(Self.session(), secret: secret)  // sealed for realms/gov, named __Host-_porteiro
        guard case .signedIn = both.authenticate(request(cookie: gov).at(provider: 0)) else {
            Issue.record("a gov session signs in at gov's routes")
            return
        }
        guard case .anonymous = both.authenticate(request(cookie: gov).at(provider: 1)) else {
            Issue.record("a gov session is no one at partners' routes")
            return
        }
        let renamed = gov.replacingOccurrences(of: "__Host-_porteiro=", with: "__Host-_porteiro_partners=")
        guard case .anonymous(let cleared) = both.authenticate(request(cookie: renamed).at(provider: 1)),
              cleared.contains(where: { $0.hasPrefix("__Host-_porteiro_partners=") && $0.contains("Max-Age=0") })
        else {
            Issue.record("a gov session under partners' cookie name does not open (the seal is bound to the provider) and is cleared")
            return
        }
        #expect(both.notReady == ["gov", "partners"], "nothing loaded: /ready names both")
    }

    /// RFC 9207: an authorization response naming another issuer is refused before its code goes
    /// anywhere (red team 6: with several providers, a hostile one forwarded the browser to another's
    /// login and had that provider's code posted to its own token endpoint).
    @Test func aCallbackNamingAnotherIssuerIsRefusedBeforeTheCodeIsUsed() async {
        let secret = Self.secret()
        let authenticator = Self.authenticator(secrets: [secret])
        let state = LoginState(state: "s-123", nonce: "n", codeVerifier: "v", returnTo: "/", createdAt: Self.now)
        let sealed = authenticator.sealer.seal(state.encoded(), purpose: "state")
        let cookie = LoginState.cookieName(prefix: "__Host-_porteiro", state: "s-123") + "=" + sealed
        func callback(_ query: String) async -> LocalResponse {
            await authenticator.handle(.callback, AuthRequest(
                headers: ["Cookie": cookie, "Host": "portal.example.org"], target: try! RequestTarget.parse("/oauth2/callback?" + query).get(),
                requestID: "r", now: Self.now))
        }
        let mixUp = await callback("code=c&state=s-123&iss=https%3A%2F%2Fevil.example.org")
        #expect(mixUp.status == .badRequest && mixUp.body.contains("no longer valid"))
        let ownIssuer = await callback("code=c&state=s-123&iss=https%3A%2F%2Fiam.example.org%2Frealms%2Fgov")
        #expect(ownIssuer.status == .badRequest && ownIssuer.body.contains("authorization code"), "past the iss check (no metadata: no code exchange)")
    }

    @Test func emailRulesSeeOnlyAVerifiedEmail() {
        let secret = Self.secret()
        let authenticator = Self.authenticator(secrets: [secret])
        var session = Self.session()
        session.email = "boss@example.org"
        for verified in [false, true] {
            session.emailVerified = verified
            guard case .signedIn(let user) = authenticator.authenticate(request(cookie: Self.cookieHeader(session, secret: secret))) else {
                Issue.record("expected a session")
                return
            }
            #expect(user.email == "boss@example.org", "the header still carries it")
            #expect(user.policySubject.email == (verified ? "boss@example.org" : ""))
        }
    }

    /// A signed-out session is revoked by its id: a copy of its cookie opens nothing afterwards.
    @Test func aSignedOutSessionIsRevokedByItsID() async throws {
        let secret = Self.secret()
        let store = InMemoryRevocationStore()
        let authenticator = Self.authenticator(secrets: [secret], revocations: store)
        var session = Self.session()
        session.id = "0123456789abcdef0123456789abcdef"
        var other = Self.session()
        other.id = "fedcba9876543210fedcba9876543210"
        try await store.revoke(Revocation(target: .signedOut(sessionID: session.id), expiresAt: Self.now + 60), now: Self.now)
        #expect(isAnonymousAndCleared(authenticate(authenticator, cookie: Self.cookieHeader(session, secret: secret))))
        guard case .signedIn = authenticate(authenticator, cookie: Self.cookieHeader(other, secret: secret)) else {
            Issue.record("another session of the same user is not ended")
            return
        }
    }
}

/// Sign-out acts only for this site's own pages: a link or form on another site must not sign
/// anyone out (it gets a page whose button posts from this origin instead).
@Suite struct SignOutOriginTests {
    static let origin = "https://portal.example.org"

    func request(_ method: HTTPMethod, _ headers: HTTPHeaders) -> AuthRequest {
        AuthRequest(method: method, headers: headers, target: try! RequestTarget.parse("/oauth2/sign_out").get(), requestID: "r", now: 0)
    }

    @Test func sameOriginOrUserInitiatedRequestsMaySignOut() {
        #expect(request(.GET, ["Sec-Fetch-Site": "same-origin"]).isSameOrigin(Self.origin))
        #expect(request(.GET, ["Sec-Fetch-Site": "none"]).isSameOrigin(Self.origin), "typed or bookmarked")
        #expect(request(.POST, ["Origin": "https://portal.example.org"]).isSameOrigin(Self.origin))
        #expect(request(.POST, ["Sec-Fetch-Site": "same-origin", "Origin": "https://portal.example.org"]).isSameOrigin(Self.origin))
    }

    @Test func crossSiteOrUnprovenRequestsMayNot() {
        #expect(!request(.GET, ["Sec-Fetch-Site": "cross-site"]).isSameOrigin(Self.origin))
        #expect(!request(.GET, ["Sec-Fetch-Site": "same-site"]).isSameOrigin(Self.origin), "a sibling subdomain is another site's page")
        #expect(!request(.GET, [:]).isSameOrigin(Self.origin), "a GET proves nothing without Sec-Fetch-Site")
        #expect(!request(.POST, ["Origin": "https://evil.example"]).isSameOrigin(Self.origin))
        #expect(!request(.POST, ["Sec-Fetch-Site": "cross-site", "Origin": "https://portal.example.org"]).isSameOrigin(Self.origin))
        #expect(!request(.POST, [:]).isSameOrigin(Self.origin))
    }

    @Test func anUnprovenSignOutGetsAButtonNotARedirect() async {
        let secret = CookieAuthenticatorTests.secret()
        let authenticator = CookieAuthenticatorTests.authenticator(secrets: [secret])
        let cookie = CookieAuthenticatorTests.cookieHeader(CookieAuthenticatorTests.session(), secret: secret)
        var headers: HTTPHeaders = ["Cookie": cookie, "Sec-Fetch-Site": "cross-site"]
        var crossSite = request(.GET, headers)
        crossSite.target = try! RequestTarget.parse("/oauth2/sign_out?rd=/bye").get()
        let page = await authenticator.handle(.signOut, crossSite)
        #expect(page.status == .ok && !page.headers.contains(name: "set-cookie"))
        #expect(page.body.contains(#"<form method="post" action="/oauth2/sign_out?rd=%2Fbye">"#))
        headers.replaceOrAdd(name: "Sec-Fetch-Site", value: "same-origin")
        let signedOut = await authenticator.handle(.signOut, request(.GET, headers))
        #expect(signedOut.status == .found && signedOut.headers["set-cookie"].contains { $0.contains("Max-Age=0") })
    }
}

@Suite struct CookieConflictTests {
    @Test func aNameSentTwiceWithDifferentValuesIsAConflict() {
        #expect(CookieHeader(["a=1; a=1"]).conflictingNames.isEmpty)
        #expect(CookieHeader(["a=1; a=2"]).conflictingNames == ["a"])
        #expect(CookieHeader(["a=1", "a=2"]).conflictingNames == ["a"], "also across Cookie headers")
        #expect(CookieChunks.isConflicting(CookieHeader(["_p=x; _p_0=y"]), name: "_p"), "whole and chunked at once")
        #expect(CookieChunks.isConflicting(CookieHeader(["_p_1=x; _p_0=y; _p_1=z"]), name: "_p"))
        #expect(!CookieChunks.isConflicting(CookieHeader(["_p_0=x; _p_1=y; other=1; other=2"]), name: "_p"))
    }

    /// A copy planted by a sibling subdomain carries `Domain=<parent>`: only a deletion with that
    /// attribute removes it. An address has no parent domain.
    @Test func deletionsCoverParentDomainsButNotAddresses() {
        let settings = CookieSettings(name: "_p", secure: false)
        let jar = CookieHeader(["_p=a; _p=b"])
        let named = CookieChunks.deleteConflicting(settings: settings, present: jar, requestPath: "/admin/x", host: "app.example.org:8080")
        #expect(named.contains("_p=; Path=/admin; Max-Age=0; Domain=example.org; HttpOnly; SameSite=Lax"))
        #expect(named.contains("_p=; Path=/; Max-Age=0; Domain=app.example.org; HttpOnly; SameSite=Lax"))
        #expect(!named.contains { $0.contains("Domain=org;") }, "a top-level domain never")
        for address in ["127.0.0.1", "127.0.0.1:4180", "[::1]:4180"] {
            let deletions = CookieChunks.deleteConflicting(settings: settings, present: jar, requestPath: "/a", host: address)
            #expect(!deletions.isEmpty && !deletions.contains { $0.contains("Domain=") }, "\(address)")
        }
    }
}

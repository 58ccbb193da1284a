import NIOHTTP1
import PorteiroMetrics
import PorteiroOIDC
public import PorteiroProxy
import PorteiroRouting
import PorteiroSessions

/// `/oauth2/start`, `/oauth2/callback` and `/oauth2/sign_out`.
extension CookieAuthenticator {
    public func handle(_ endpoint: AuthEndpoint, _ request: AuthRequest) async -> LocalResponse {
        let query = FormEncoding.decode(request.target.query.dropFirst())
        switch endpoint {
        case .start:
            return startLogin(request, returnTo: query["rd"])
        case .callback:
            return await callback(request, query: query)
        case .signOut:
            return await signOut(request, returnTo: query["rd"])
        }
    }

    /// The IdP sent the browser back: check the state cookie, exchange the code with the PKCE
    /// verifier, verify the ID token, seal the session and return to where the user was going.
    func callback(_ request: AuthRequest, query: [String: String]) async -> LocalResponse {
        let jar = request.cookies
        let stateParameter = query["state"] ?? ""
        let cookieName = LoginState.cookieName(prefix: cookies.fullName, state: stateParameter)
        let clearState = cookies.setCookie(name: cookieName, value: "", maxAge: 0)
        func fail(_ status: HTTPResponseStatus, _ text: PageText, _ kind: LoginFailureReason, reason: String) -> LocalResponse {
            metrics.loginFailed(kind)
            logger.notice("login failed", metadata: ["reason": "\(reason)", "request_id": "\(request.requestID)"])
            var response = page(status, text, request)
            if jar[cookieName] != nil { response.headers.add(name: "Set-Cookie", value: clearState) }
            return response
        }

        guard !stateParameter.isEmpty, let sealed = jar[cookieName],
            let opened = sealer.open(sealed, purpose: "state"), let state = LoginState(decoding: opened),
            constantTimeEqual(state.state, stateParameter), !state.isExpired(now: request.now)
        else {
            return fail(.badRequest, .loginLinkInvalid, .state, reason: "state")
        }
        // RFC 9207: an answer naming another issuer, or none from a provider that always names
        // itself, was not this provider's — its code must never reach this token endpoint.
        if let issuer = query["iss"], issuer != provider.issuer {
            return fail(.badRequest, .loginLinkInvalid, .mixUp, reason: "the response's iss is another provider's")
        }
        if query["iss"] == nil, directory.metadata?.issuesResponseIssuer == true {
            return fail(.badRequest, .loginLinkInvalid, .mixUp, reason: "no iss from a provider that always sends it")
        }
        if let error = query["error"] {
            let detail = query["error_description"].map { ": \($0)" } ?? ""
            return fail(.forbidden, .idpDenied(error + detail), .idpError, reason: "idp_\(error)")
        }
        guard let code = query["code"], let metadata = directory.metadata else {
            return fail(.badRequest, .noCode, .noCode, reason: "no_code")
        }
        let session: Session
        do {
            let tokens = try await client.exchange(code: code, verifier: state.codeVerifier, redirectURI: redirectURI, metadata: metadata)
            // The clock after the exchange: a slow IdP must not make its fresh ID token look issued
            // in the future.
            session = try await newSession(from: tokens, nonce: state.nonce, now: clock(), metadata: metadata)
        } catch let failure as ProviderClient.Failure {
            return fail(.badGateway, .idpFailed, .tokenEndpoint, reason: "\(failure)")
        } catch {
            return fail(.unauthorized, .idpUntrusted, .idToken, reason: "\(error)")
        }
        let value: String
        do {
            value = try await sessions.save(session, replacing: nil, now: request.now)
        } catch {
            return fail(.serviceUnavailable, .loginUnavailable, .sessionStore, reason: "session store: \(String(reflecting: error))")
        }
        metrics.loginsCompleted.increment()
        logger.info("login completed", metadata: ["user": "\(session.user)", "request_id": "\(request.requestID)"])
        var headers: HTTPHeaders = ["Location": state.returnTo, "Cache-Control": "no-store"]
        // The session cookie is replaced whole (a new id with a session store): a cookie planted
        // before login never survives it.
        for cookie in sessionCookies(value, for: session, present: jar) + [clearState] { headers.add(name: "Set-Cookie", value: cookie) }
        return LocalResponse(status: .found, headers: headers, body: "")
    }

    /// Ends the session here — revoked by its id, so a copy of the cookie opens nothing on any
    /// replica that shares the revocation store — and, when the IdP supports RP-initiated logout,
    /// there too. Only a same-origin request acts (a cross-site link or form could otherwise sign
    /// anyone out); any other gets a page whose button posts the sign-out from this origin.
    func signOut(_ request: AuthRequest, returnTo: String?) async -> LocalResponse {
        guard request.isSameOrigin(publicURL) else {
            return SignOutConfirmation.page(returnTo: returnTo, request: request)
        }
        let ended = await endLocalSession(request)
        return signOutAnswer(location: endSessionLocation(returnTo: returnTo, idToken: ended.session?.idToken), clearing: ended.clearCookies)
    }

    /// What signing out here did: the session that was open (if any) and the cookies to clear.
    struct LocalSignOut {
        var session: Session?
        var clearCookies: [String]
    }

    /// Deletes and revokes this provider's session in the request, if there is one.
    func endLocalSession(_ request: AuthRequest) async -> LocalSignOut {
        let jar = request.cookies
        var session: Session?
        if let value = CookieChunks.read(jar, name: cookies.fullName) {
            if case .found(let found)? = try? await sessions.session(for: value, now: request.now) { session = found }
            do {
                try await sessions.delete(value)
                if let session, !session.id.isEmpty {
                    try await revocations.revoke(
                        Revocation(target: .signedOut(sessionID: session.id), expiresAt: session.expiresAt), now: request.now)
                }
            } catch {
                logger.warning(
                    "session store unreachable; signed-out session not revoked everywhere",
                    metadata: ["error": "\(String(reflecting: error))", "request_id": "\(request.requestID)"])
            }
        }
        let stateCookies = jar.names(withPrefix: cookies.fullName + "_state_").map { cookies.setCookie(name: $0, value: "", maxAge: 0) }
        return LocalSignOut(session: session, clearCookies: CookieChunks.deleteAll(settings: cookies, present: jar) + stateCookies)
    }

    /// Where the browser goes after signing out: the IdP's end-session endpoint (back to
    /// `returnTo` from there) when it has one, else `returnTo` (validated) itself.
    func endSessionLocation(returnTo: String?, idToken: String?) -> String {
        let target = returnTargets.validate(returnTo)
        guard let endSession = directory.metadata?.endSessionEndpoint else { return target }
        let absoluteTarget = target.hasPrefix("/") ? publicURL + target : target
        var parameters = [("client_id", provider.clientID), ("post_logout_redirect_uri", absoluteTarget)]
        if let idToken { parameters.insert(("id_token_hint", idToken), at: 0) }
        return endSession + (endSession.contains("?") ? "&" : "?") + FormEncoding.encode(parameters)
    }

    func signOutAnswer(location: String, clearing cookies: [String]) -> LocalResponse {
        var headers: HTTPHeaders = ["Location": location, "Cache-Control": "no-store"]
        for cookie in cookies { headers.add(name: "Set-Cookie", value: cookie) }
        return LocalResponse(status: .found, headers: headers, body: "")
    }

    func newSession(from tokens: TokenResponse, nonce: String, now: Int64, metadata: ProviderMetadata) async throws -> Session {
        guard let idToken = tokens.idToken else { throw IDTokenVerifier.Failure(reason: .malformed) }
        let claims = try await verifiedClaims(idToken, nonce: nonce, now: now)
        var all = claims.all
        if provider.useUserinfo, let endpoint = metadata.userinfoEndpoint {
            all = all.merging(try await client.userinfo(accessToken: tokens.accessToken, endpoint: endpoint))
        }
        let identity = provider.claims.identity(from: all)
        let expiresAt = try Self.unexpired(tokens, now: now)
        return Session(
            id: Self.randomSessionID(), subject: identity.subject, user: identity.user, email: identity.email,
            emailVerified: identity.emailVerified, groups: identity.groups, roles: identity.roles,
            accessToken: tokens.accessToken, refreshToken: tokens.refreshToken, idToken: idToken, sid: identity.sid,
            accessTokenExpiresAt: expiresAt, accessTokenIssuedAt: now, createdAt: now,
            expiresAt: now + lifetime, claims: keptClaims(from: all))
    }

    /// The access token's expiry, when it has not passed already: an IdP whose clock runs behind
    /// Porteiro's can hand out a token that is expired on arrival, which must never be forwarded.
    /// A refresh that gets one fails like an unreachable IdP (kept, retried, 503 once the old token
    /// is gone too); a login fails with a clear reason.
    static func unexpired(_ tokens: TokenResponse, now: Int64) throws(ProviderClient.Failure) -> Int64 {
        let expiresAt = tokens.accessTokenExpiresAt(now: now)
        guard expiresAt == 0 || expiresAt > now else {
            throw .badResponse("the access token expired \(now - expiresAt) s before it arrived: check the clocks of the IdP and of Porteiro")
        }
        return expiresAt
    }

    /// 128 random bits, hex: names a session for a sign-out revocation.
    static func randomSessionID() -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<2).map { _ in
            let hex = String(generator.next() as UInt64, radix: 16)
            return String(repeating: "0", count: 16 - hex.count) + hex
        }.joined()
    }

    /// Verifies with the current keys; on an unknown key, once more with a freshly fetched JWKS.
    private func verifiedClaims(_ token: String, nonce: String, now: Int64) async throws -> IDTokenClaims {
        try await verifiedClaims(token, purpose: .idToken(nonce: nonce), now: now)
    }

    private func verifiedClaims(_ token: String, purpose: IDTokenVerifier.Purpose, now: Int64) async throws -> IDTokenClaims {
        guard let keys = directory.keys else { throw IDTokenVerifier.Failure(reason: .unknownKey) }
        do {
            return try await verifier.verify(token, keys: keys, purpose: purpose, now: Double(now))
        } catch where error.reason == .unknownKey {
            guard let fresh = await directory.refetchKeys() else { throw error }
            return try await verifier.verify(token, keys: fresh, purpose: purpose, now: Double(now))
        }
    }

    /// New tokens for an expiring session. The identity is read again from the new ID token (merged
    /// with userinfo, with `use_userinfo`), so leaving a group takes effect within one token
    /// lifetime; an IdP that returns no ID token on refresh leaves it as it was at login. A new ID
    /// token that does not verify, or names another subject, ends the session.
    func refreshedSession(_ session: Session) async throws -> Session {
        guard let refreshToken = session.refreshToken, let metadata = directory.metadata else { return session }
        let tokens = try await client.refresh(refreshToken, metadata: metadata)
        let now = clock()
        var refreshed = session
        refreshed.accessToken = tokens.accessToken
        refreshed.refreshToken = tokens.refreshToken ?? refreshToken
        refreshed.idToken = tokens.idToken ?? session.idToken
        refreshed.accessTokenExpiresAt = try Self.unexpired(tokens, now: now)
        refreshed.accessTokenIssuedAt = now
        refreshed.lastSeenAt = now  // a refresh happens only for a request
        if let idToken = tokens.idToken {
            var claims: ClaimValue
            do {
                claims = try await verifiedClaims(idToken, purpose: .refreshedIDToken(subject: session.subject), now: now).all
            } catch {
                throw ProviderClient.Failure.refused(status: 400, error: "invalid_id_token", description: "\(error)")
            }
            if provider.useUserinfo, let endpoint = metadata.userinfoEndpoint {
                claims = claims.merging(try await client.userinfo(accessToken: tokens.accessToken, endpoint: endpoint))
            }
            let identity = provider.claims.identity(from: claims)
            refreshed.user = identity.user
            refreshed.email = identity.email
            refreshed.emailVerified = identity.emailVerified
            refreshed.groups = identity.groups
            refreshed.roles = identity.roles
            refreshed.claims = keptClaims(from: claims)
        }
        return refreshed
    }
}

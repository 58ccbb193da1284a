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
        let jar = CookieHeader(request.headers[canonicalForm: "cookie"].map(String.init))
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
            session = try await newSession(from: tokens, nonce: state.nonce, now: request.now, metadata: metadata)
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

    /// Ends the session here and, when the IdP supports RP-initiated logout, there too.
    func signOut(_ request: AuthRequest, returnTo: String?) async -> LocalResponse {
        let jar = CookieHeader(request.headers[canonicalForm: "cookie"].map(String.init))
        let target = returnTargets.validate(returnTo)
        let absoluteTarget = target.hasPrefix("/") ? publicURL + target : target
        var session: Session?
        if let value = CookieChunks.read(jar, name: cookies.fullName) {
            if case .found(let found)? = try? await sessions.session(for: value, now: request.now) { session = found }
            do {
                try await sessions.delete(value)
            } catch {
                logger.warning("session store unreachable; session row not deleted", metadata: ["error": "\(String(reflecting: error))"])
            }
        }
        var location = target
        if let endSession = directory.metadata?.endSessionEndpoint {
            var parameters = [("client_id", provider.clientID), ("post_logout_redirect_uri", absoluteTarget)]
            if let hint = session?.idToken { parameters.insert(("id_token_hint", hint), at: 0) }
            location = endSession + (endSession.contains("?") ? "&" : "?") + FormEncoding.encode(parameters)
        }
        var headers: HTTPHeaders = ["Location": location, "Cache-Control": "no-store"]
        let stateCookies = jar.names(withPrefix: cookies.fullName + "_state_").map { cookies.setCookie(name: $0, value: "", maxAge: 0) }
        for cookie in CookieChunks.deleteAll(settings: cookies, present: jar) + stateCookies {
            headers.add(name: "Set-Cookie", value: cookie)
        }
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
        return Session(
            subject: identity.subject, user: identity.user, email: identity.email, groups: identity.groups,
            roles: identity.roles, accessToken: tokens.accessToken, refreshToken: tokens.refreshToken, idToken: idToken,
            sid: identity.sid, accessTokenExpiresAt: tokens.accessTokenExpiresAt(now: now), createdAt: now,
            expiresAt: now + lifetime,
            claims: policyClaims(from: all))
    }

    /// Verifies with the current keys; on an unknown key, once more with a freshly fetched JWKS.
    private func verifiedClaims(_ token: String, nonce: String, now: Int64) async throws -> IDTokenClaims {
        guard let keys = directory.keys else { throw IDTokenVerifier.Failure(reason: .unknownKey) }
        do {
            return try await verifier.verify(token, keys: keys, nonce: nonce, now: Double(now))
        } catch where error.reason == .unknownKey {
            guard let fresh = await directory.refetchKeys() else { throw error }
            return try await verifier.verify(token, keys: fresh, nonce: nonce, now: Double(now))
        }
    }

    /// New tokens for an expiring session; identity stays as logged in.
    func refreshedSession(_ session: Session, now: Int64) async throws -> Session {
        guard let refreshToken = session.refreshToken, let metadata = directory.metadata else { return session }
        let tokens = try await client.refresh(refreshToken, metadata: metadata)
        var refreshed = session
        refreshed.accessToken = tokens.accessToken
        refreshed.refreshToken = tokens.refreshToken ?? refreshToken
        refreshed.idToken = tokens.idToken ?? session.idToken
        refreshed.accessTokenExpiresAt = tokens.accessTokenExpiresAt(now: now)
        return refreshed
    }
}

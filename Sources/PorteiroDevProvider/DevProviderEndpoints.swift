import Foundation
import PorteiroOIDC
import PorteiroRouting

/// The provider's endpoints as a pure request → response function over the store and the signer,
/// so the protocol rules are tested without sockets. `DevProviderHandler` is the I/O around it.
struct DevProviderEndpoints: Sendable {
    let issuer: String
    let settings: DevProviderSettings
    let signer: DevTokenSigner
    let store = DevProviderStore()
    static let sessionCookie = "porteiro_dev_op"
    static let codeLifetime = 60

    func handle(_ request: DevRequest, now: Int = Int(Date().timeIntervalSince1970)) async -> DevResponse {
        switch (request.method, request.path) {
        case ("GET", "/.well-known/openid-configuration"): return .json(discovery)
        case ("GET", "/jwks"): return .json(signer.jwks)
        case ("GET", "/authorize"): return authorize(request, parameters: request.query, now: now)
        case ("POST", "/authorize"): return authorize(request, parameters: request.form, now: now)
        case ("POST", "/token"): return await token(request.form, now: now)
        case ("GET", "/userinfo"), ("POST", "/userinfo"): return await userinfo(request)
        case ("GET", "/logout"): return await logout(request, now: now)
        case ("GET", "/"): return .html(DevProviderPages.home(issuer: issuer, users: settings.users))
        default: return .html(DevProviderPages.message("Not found", "This development provider has no page here."), status: 404)
        }
    }

    var discovery: String {
        let document: [String: Any] = [
            "issuer": issuer,
            "authorization_endpoint": issuer + "/authorize",
            "token_endpoint": issuer + "/token",
            "jwks_uri": issuer + "/jwks",
            "userinfo_endpoint": issuer + "/userinfo",
            "end_session_endpoint": issuer + "/logout",
            "backchannel_logout_supported": true,
            "backchannel_logout_session_supported": true,
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "grant_types_supported": ["authorization_code", "refresh_token"] + (settings.exchangeAudiences.isEmpty ? [] : [Self.tokenExchangeGrant]),
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["none"],
            "scopes_supported": ["openid", "profile", "email"],
            "claims_supported": ["sub", "name", "preferred_username", "email", "email_verified", "groups", "sid"],
            "authorization_response_iss_parameter_supported": true,
        ]
        let data = (try? JSONSerialization.data(withJSONObject: document, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data()
        return String(decoding: data, as: UTF8.self)
    }

    // MARK: Authorization endpoint

    /// GET shows the login form (or, with a live provider session, answers at once); POST checks
    /// the form. Client and redirect URI are checked before anything is sent to the redirect URI,
    /// so a forged request never turns the provider into an open redirector.
    private func authorize(_ request: DevRequest, parameters: [String: String], now: Int) -> DevResponse {
        guard let clientID = parameters["client_id"], let client = settings.clients.first(where: { $0.id == clientID }) else {
            return .html(DevProviderPages.message("Unknown client", "No client with this client_id is registered here."), status: 400)
        }
        guard let redirectURI = parameters["redirect_uri"], client.redirectURIs.contains(redirectURI) else {
            return .html(DevProviderPages.message("Wrong redirect URI", "The redirect_uri is not registered for \(clientID)."), status: 400)
        }
        let state = parameters["state"]
        func fail(_ error: String, _ description: String) -> DevResponse {
            .redirect(redirectURI + Self.separator(redirectURI) + FormEncoding.encode(
                [("error", error), ("error_description", description), ("iss", issuer)] + (state.map { [("state", $0)] } ?? [])))
        }
        guard parameters["response_type"] == "code" else { return fail("unsupported_response_type", "only the code flow is supported") }
        guard let challenge = parameters["code_challenge"], challenge.utf8.count == 43, parameters["code_challenge_method"] == "S256" else {
            return fail("invalid_request", "PKCE with code_challenge_method S256 is required")
        }
        let scope = parameters["scope"] ?? ""
        guard scope.split(separator: " ").contains("openid") else { return fail("invalid_scope", "the openid scope is required") }

        var newSessionCookie: [String] = []
        let session: (sid: String, session: DevProviderStore.BrowserSession)
        if request.method == "POST" {
            let username = parameters["username"] ?? ""
            guard let user = settings.users.first(where: { $0.username == username }),
                constantTimeEqual(user.password, parameters["password"] ?? "")
            else {
                return .html(DevProviderPages.login(parameters: parameters, error: "Wrong user name or password."), status: 401)
            }
            let sid = randomToken(bytes: 16)
            session = (sid, .init(username: user.username, authTime: now))
            store.startSession(sid, session.session)
            newSessionCookie = ["\(Self.sessionCookie)=\(sid); Path=/; HttpOnly; SameSite=Lax"]
        } else if let sid = request.cookies[Self.sessionCookie].map(String.init), let existing = store.session(sid),
            parameters["prompt"] != "login"
        {
            session = (sid, existing)
        } else {
            return .html(DevProviderPages.login(parameters: parameters, error: nil))
        }

        let code = randomToken(bytes: 32)
        store.addCode(code, .init(
            grant: .init(clientID: clientID, username: session.session.username, sid: session.sid, scope: scope,
                         authTime: session.session.authTime),
            redirectURI: redirectURI, codeChallenge: challenge, nonce: parameters["nonce"], expiresAt: now + Self.codeLifetime))
        let answer = [("code", code), ("iss", issuer)] + (state.map { [("state", $0)] } ?? [])
        return .redirect(redirectURI + Self.separator(redirectURI) + FormEncoding.encode(answer), cookies: newSessionCookie)
    }

    // MARK: End-session endpoint

    /// RP-initiated logout: ends the provider session, tells every client with a back-channel
    /// logout URI (a signed logout token the handler posts before answering), then returns to a
    /// registered `post_logout_redirect_uri` or shows a signed-out page.
    private func logout(_ request: DevRequest, now: Int) async -> DevResponse {
        var notices: [(url: String, form: String)] = []
        if let sid = request.cookies[Self.sessionCookie].map(String.init), let session = store.session(sid) {
            store.endSession(sid)
            notices = await backchannelLogouts(sid: sid, username: session.username, now: now)
        }
        var response = await logoutAnswer(request)
        response.backchannelLogouts = notices
        return response
    }

    private func backchannelLogouts(sid: String, username: String, now: Int) async -> [(url: String, form: String)] {
        var notices: [(url: String, form: String)] = []
        for client in settings.clients {
            guard let url = client.backchannelLogoutURI else { continue }
            let claims = DevLogoutClaims(
                iss: issuer, sub: "dev-" + username, aud: client.id, iat: now, exp: now + 120, jti: randomToken(bytes: 16), sid: sid)
            guard let token = try? await signer.sign(claims) else { continue }
            notices.append((url, FormEncoding.encode([("logout_token", token)])))
        }
        return notices
    }

    private func logoutAnswer(_ request: DevRequest) async -> DevResponse {
        let clearCookie = "\(Self.sessionCookie)=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax"
        var clientID = request.query["client_id"]
        if clientID == nil, let hint = request.query["id_token_hint"], let claims = await signer.verify(hint) {
            clientID = claims.aud
        }
        if let target = request.query["post_logout_redirect_uri"], let client = settings.clients.first(where: { $0.id == clientID }),
            client.postLogoutRedirectPrefixes.contains(where: { target.hasPrefix($0) })
        {
            let state = request.query["state"].map { Self.separator(target) + FormEncoding.encode([("state", $0)]) } ?? ""
            return .redirect(target + state, cookies: [clearCookie])
        }
        var page = DevResponse.html(DevProviderPages.message("Signed out", "You are signed out of the development provider."))
        page.headers.append(("Set-Cookie", clearCookie))
        return page
    }

    static func separator(_ url: String) -> String {
        url.contains("?") ? "&" : "?"
    }
}

import Foundation
import PorteiroOIDC
@testable import PorteiroDevProvider
import PorteiroRouting
import Testing

/// The development provider's protocol rules, request by request, without sockets; its tokens
/// checked by Porteiro's own ID-token verifier.
@Suite struct DevProviderEndpointsTests {
    static let redirect = "http://127.0.0.1:4180/oauth2/callback"

    let endpoints: DevProviderEndpoints
    let pkce = PKCE.random()

    init() async throws {
        let client = DevProviderSettings.Client(
            id: "app", redirectURIs: [Self.redirect], postLogoutRedirectPrefixes: ["http://127.0.0.1:4180/"],
            backchannelLogoutURI: "http://127.0.0.1:4180/oauth2/backchannel_logout")
        var settings = DevProviderSettings(users: DevProviderSettings.demoUsers, clients: [client])
        settings.exchangeAudiences = ["billing"]
        endpoints = DevProviderEndpoints(issuer: "http://127.0.0.1:9", settings: settings, signer: try await DevTokenSigner.make())
    }

    func authorizeParameters(_ changes: [String: String?] = [:]) -> [String: String] {
        var parameters = [
            "client_id": "app", "redirect_uri": Self.redirect, "response_type": "code", "scope": "openid profile",
            "state": "s1", "nonce": "n1", "code_challenge": pkce.challenge, "code_challenge_method": "S256",
            "username": "maria", "password": "maria",
        ]
        for (key, value) in changes { parameters[key] = value }
        return parameters
    }

    func post(_ path: String, _ form: [String: String], cookies: [String] = []) async -> DevResponse {
        await endpoints.handle(DevRequest(
            method: "POST", uri: path, body: FormEncoding.encode(form.sorted { $0.key < $1.key }), cookieHeaders: cookies,
            authorization: nil))
    }

    func get(_ uri: String, cookies: [String] = [], authorization: String? = nil) async -> DevResponse {
        await endpoints.handle(DevRequest(method: "GET", uri: uri, body: "", cookieHeaders: cookies, authorization: authorization))
    }

    func location(_ response: DevResponse) -> [String: String] {
        let value = response.headers.first { $0.0 == "Location" }?.1 ?? ""
        return FormEncoding.decode(value.split(separator: "?", maxSplits: 1).last ?? "")
    }

    /// Logs maria in and returns the code.
    func code() async throws -> String {
        let answer = await post("/authorize", authorizeParameters())
        #expect(answer.status == 302)
        return try #require(location(answer)["code"])
    }

    func redeem(_ code: String, verifier: String? = nil) async -> [String: Any] {
        let answer = await post("/token", [
            "grant_type": "authorization_code", "code": code, "redirect_uri": Self.redirect, "client_id": "app",
            "code_verifier": verifier ?? pkce.verifier,
        ])
        return (try? JSONSerialization.jsonObject(with: Data(answer.body.utf8)) as? [String: Any]) ?? [:]
    }

    @Test func fullCodeFlowIssuesTokensPorteiroVerifies() async throws {
        let tokens = await redeem(try await code())
        let idToken = try #require(tokens["id_token"] as? String)
        let keys = try await ProviderKeys.parse(jwksJSON: endpoints.signer.jwks)
        let verifier = IDTokenVerifier(issuer: "http://127.0.0.1:9", clientID: "app")
        let claims = try await verifier.verify(idToken, keys: keys, nonce: "n1", now: Date().timeIntervalSince1970)
        #expect(claims.all.value(at: "preferred_username")?.strings == ["maria"])
        #expect(claims.all.value(at: "groups")?.strings == ["servidores"])
        let access = try #require(tokens["access_token"] as? String)
        _ = try await verifier.verify(access, keys: keys, purpose: .accessToken(audiences: ["app"]), now: Date().timeIntervalSince1970)
        let userinfo = await get("/userinfo", authorization: "Bearer \(access)")
        #expect(userinfo.status == 200 && userinfo.body.contains(#""email":"maria@example.org""#))
    }

    @Test func pkceIsRequiredAndChecked() async throws {
        let withoutPKCE = await post("/authorize", authorizeParameters(["code_challenge": nil]))
        #expect(location(withoutPKCE)["error"] == "invalid_request")
        let plain = await post("/authorize", authorizeParameters(["code_challenge_method": "plain"]))
        #expect(location(plain)["error"] == "invalid_request")
        let wrongVerifier = await redeem(try await code(), verifier: PKCE.random().verifier)
        #expect(wrongVerifier["error"] as? String == "invalid_grant")
    }

    @Test func aCodeWorksOnce() async throws {
        let code = try await code()
        #expect(await redeem(code)["access_token"] != nil)
        #expect(await redeem(code)["error"] as? String == "invalid_grant")
    }

    /// RFC 8693, as Keycloak's standard token exchange: an access token for one whose `aud` is
    /// the allowed audience alone (Porteiro's verifier takes it for `billing`, not for `app`).
    @Test func accessTokensAreExchangedForAllowedAudiencesOnly() async throws {
        let access = try #require(await redeem(try await code())["access_token"] as? String)
        func exchange(_ changes: [String: String?]) async -> [String: Any] {
            var form = [
                "grant_type": "urn:ietf:params:oauth:grant-type:token-exchange", "client_id": "app", "subject_token": access,
                "subject_token_type": "urn:ietf:params:oauth:token-type:access_token", "audience": "billing",
            ]
            for (key, value) in changes { form[key] = value }
            let answer = await post("/token", form)
            return (try? JSONSerialization.jsonObject(with: Data(answer.body.utf8)) as? [String: Any]) ?? [:]
        }
        let issued = await exchange([:])
        #expect(issued["issued_token_type"] as? String == "urn:ietf:params:oauth:token-type:access_token")
        let token = try #require(issued["access_token"] as? String)
        let keys = try await ProviderKeys.parse(jwksJSON: endpoints.signer.jwks)
        let verifier = IDTokenVerifier(issuer: "http://127.0.0.1:9", clientID: "app")
        let claims = try await verifier.verify(token, keys: keys, purpose: .accessToken(audiences: ["billing"]), now: Date().timeIntervalSince1970)
        #expect(claims.all.value(at: "sub")?.strings == ["dev-maria"])
        await #expect(throws: IDTokenVerifier.Failure.self) {
            try await verifier.verify(token, keys: keys, purpose: .accessToken(audiences: ["app"]), now: Date().timeIntervalSince1970)
        }
        #expect(await exchange(["audience": "payroll"])["error"] as? String == "invalid_target")
        #expect(await exchange(["audience": nil])["error"] as? String == "invalid_target")
        #expect(await exchange(["subject_token": access + "x"])["error"] as? String == "invalid_request")
        #expect(await exchange(["subject_token_type": "urn:ietf:params:oauth:token-type:id_token"])["error"] as? String == "invalid_request")
    }

    @Test func refreshTokensRotateAndAUsedOneIsRefused() async throws {
        let first = try #require(await redeem(try await code())["refresh_token"] as? String)
        func refresh(_ token: String) async -> [String: Any] {
            let answer = await post("/token", ["grant_type": "refresh_token", "refresh_token": token, "client_id": "app"])
            return (try? JSONSerialization.jsonObject(with: Data(answer.body.utf8)) as? [String: Any]) ?? [:]
        }
        let second = try #require(await refresh(first)["refresh_token"] as? String)
        #expect(second != first)
        #expect(await refresh(first)["error"] as? String == "invalid_grant", "a rotated token is spent")
        #expect(await refresh(second)["id_token"] != nil)
    }

    /// Providers differ in what a refresh returns; the development provider can play each, so
    /// Porteiro is tested against all three (and its refreshed ID token passes Porteiro's check).
    @Test(arguments: DevProviderSettings.RefreshTokens.allCases)
    func refreshTokensRotateAreReusedOrAreNeverIssued(mode: DevProviderSettings.RefreshTokens) async throws {
        var settings = DevProviderSettings(users: DevProviderSettings.demoUsers, clients: endpoints.settings.clients)
        settings.refreshTokens = mode
        let provider = DevProviderEndpoints(issuer: "http://127.0.0.1:9", settings: settings, signer: endpoints.signer)
        let login = await provider.handle(DevRequest(
            method: "POST", uri: "/authorize", body: FormEncoding.encode(authorizeParameters().sorted { $0.key < $1.key }),
            cookieHeaders: [], authorization: nil))
        let code = try #require(location(login)["code"])
        func token(_ form: [String: String]) async -> [String: Any] {
            let answer = await provider.handle(DevRequest(
                method: "POST", uri: "/token", body: FormEncoding.encode(form.sorted { $0.key < $1.key }), cookieHeaders: [], authorization: nil))
            return (try? JSONSerialization.jsonObject(with: Data(answer.body.utf8)) as? [String: Any]) ?? [:]
        }
        let tokens = await token([
            "grant_type": "authorization_code", "code": code, "redirect_uri": Self.redirect, "client_id": "app", "code_verifier": pkce.verifier,
        ])
        guard mode != .none else {
            #expect(tokens["access_token"] != nil && tokens["refresh_token"] == nil)
            return
        }
        let first = try #require(tokens["refresh_token"] as? String)
        let refreshed = await token(["grant_type": "refresh_token", "refresh_token": first, "client_id": "app"])
        #expect((refreshed["refresh_token"] as? String).map { $0 != first } ?? (mode == .reuse), "\(mode)")
        let again = await token(["grant_type": "refresh_token", "refresh_token": first, "client_id": "app"])
        #expect((again["access_token"] != nil) == (mode == .reuse), "a reused token stays good; a rotated one is spent")
        let idToken = try #require(refreshed["id_token"] as? String)
        let verifier = IDTokenVerifier(issuer: "http://127.0.0.1:9", clientID: "app")
        let keys = try await ProviderKeys.parse(jwksJSON: endpoints.signer.jwks)
        let now = Date().timeIntervalSince1970
        _ = try await verifier.verify(idToken, keys: keys, purpose: .refreshedIDToken(subject: "dev-maria"), now: now)
        await #expect(throws: IDTokenVerifier.Failure(reason: .wrongSubject)) {
            try await verifier.verify(idToken, keys: keys, purpose: .refreshedIDToken(subject: "dev-joao"), now: now)
        }
    }

    @Test func unknownClientsAndRedirectURIsGetAPageNotARedirect() async {
        for changes in [["client_id": "other"], ["redirect_uri": "https://evil.example/cb"]] {
            let answer = await get("/authorize?" + FormEncoding.encode(authorizeParameters(changes).sorted { $0.key < $1.key }))
            #expect(answer.status == 400)
            #expect(!answer.headers.contains { $0.0 == "Location" })
        }
    }

    @Test func wrongPasswordShowsTheFormAgain() async {
        let answer = await post("/authorize", authorizeParameters(["password": "nope"]))
        #expect(answer.status == 401 && answer.body.contains("Wrong user name or password") && answer.body.contains("not for production"))
    }

    @Test func theProviderSessionSkipsTheFormUntilLogout() async throws {
        let login = await post("/authorize", authorizeParameters())
        let cookie = try #require(login.headers.first { $0.0 == "Set-Cookie" }?.1.split(separator: ";").first.map(String.init))
        let code = try #require(location(login)["code"])
        let refreshToken = try #require(await redeem(code)["refresh_token"] as? String)
        let query = "/authorize?" + FormEncoding.encode(authorizeParameters(["username": nil, "password": nil]).sorted { $0.key < $1.key })
        #expect(await get(query, cookies: [cookie]).status == 302, "single sign-on")
        let logout = await get("/logout?client_id=app&post_logout_redirect_uri=http%3A%2F%2F127.0.0.1%3A4180%2Fbye", cookies: [cookie])
        #expect(logout.headers.contains { $0 == ("Location", "http://127.0.0.1:4180/bye") })
        #expect(await get(query, cookies: [cookie]).body.contains("id=\"username\""), "the form again")
        let refused = await post("/token", ["grant_type": "refresh_token", "refresh_token": refreshToken, "client_id": "app"])
        #expect(refused.body.contains("invalid_grant"), "logout ends the session's refresh tokens")
        let offsite = await get("/logout?client_id=app&post_logout_redirect_uri=https%3A%2F%2Fevil.example%2F")
        #expect(offsite.status == 200 && !offsite.headers.contains { $0.0 == "Location" })
    }

    @Test func logoutPostsALogoutTokenPorteiroAccepts() async throws {
        let login = await post("/authorize", authorizeParameters())
        let cookie = try #require(login.headers.first { $0.0 == "Set-Cookie" }?.1.split(separator: ";").first.map(String.init))
        let code = try #require(location(login)["code"])
        let idToken = try #require(await redeem(code)["id_token"] as? String)
        let logout = await get("/logout?client_id=app", cookies: [cookie])
        let notice = try #require(logout.backchannelLogouts.first)
        #expect(logout.backchannelLogouts.count == 1 && notice.url == "http://127.0.0.1:4180/oauth2/backchannel_logout")
        let token = try #require(FormEncoding.decode(Substring(notice.form))["logout_token"])
        let keys = try await ProviderKeys.parse(jwksJSON: endpoints.signer.jwks)
        let tokens = IDTokenVerifier(issuer: "http://127.0.0.1:9", clientID: "app")
        let logoutToken = try await LogoutTokenVerifier(tokens: tokens).verify(token, keys: keys, now: Date().timeIntervalSince1970)
        let session = try await tokens.verify(idToken, keys: keys, nonce: "n1", now: Date().timeIntervalSince1970)
        #expect(logoutToken.sid == session.all.value(at: "sid")?.string, "the sid of the session the ID token named")
        #expect(await get("/logout?client_id=app", cookies: [cookie]).backchannelLogouts.isEmpty, "an ended session is not ended twice")
    }
}

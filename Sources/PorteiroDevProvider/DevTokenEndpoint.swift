import Foundation
import PorteiroOIDC

/// The token endpoint (code with PKCE, refresh with rotation, token exchange) and userinfo.
extension DevProviderEndpoints {
    func token(_ form: [String: String], now: Int) async -> DevResponse {
        guard let clientID = form["client_id"], settings.clients.contains(where: { $0.id == clientID }) else {
            return .oauthError("invalid_client", "unknown client_id (this provider knows public clients only)", status: 401)
        }
        switch form["grant_type"] {
        case "authorization_code":
            guard let code = form["code"], let pending = store.redeemCode(code, now: now), pending.grant.clientID == clientID else {
                return .oauthError("invalid_grant", "the code is unknown, expired or already used")
            }
            guard form["redirect_uri"] == pending.redirectURI else {
                return .oauthError("invalid_grant", "redirect_uri differs from the authorization request")
            }
            guard let verifier = form["code_verifier"], constantTimeEqual(PKCE.challenge(for: verifier), pending.codeChallenge) else {
                return .oauthError("invalid_grant", "the PKCE code_verifier does not match the code_challenge")
            }
            return await issueTokens(pending.grant, nonce: pending.nonce, now: now)
        case "refresh_token":
            guard let refreshToken = form["refresh_token"],
                let grant = store.useRefreshToken(refreshToken, now: now, rotating: settings.refreshTokens == .rotate),
                grant.clientID == clientID
            else {
                return .oauthError("invalid_grant", "the refresh token is unknown, expired, already used or its session ended")
            }
            return await issueTokens(grant, nonce: nil, now: now, newRefreshToken: settings.refreshTokens == .rotate)
        case Self.tokenExchangeGrant where !settings.exchangeAudiences.isEmpty:
            return await exchange(form, clientID: clientID, now: now)
        default:
            return .oauthError("unsupported_grant_type", "authorization_code, refresh_token and (when audiences are set) token exchange only")
        }
    }

    static let tokenExchangeGrant = "urn:ietf:params:oauth:grant-type:token-exchange"
    static let accessTokenType = "urn:ietf:params:oauth:token-type:access_token"

    /// RFC 8693: one of this provider's unexpired access tokens for a new one whose `aud` is the
    /// requested audience alone, with the provider's access-token lifetime.
    private func exchange(_ form: [String: String], clientID: String, now: Int) async -> DevResponse {
        guard form["subject_token_type"] == Self.accessTokenType, form["requested_token_type"].map({ $0 == Self.accessTokenType }) ?? true else {
            return .oauthError("invalid_request", "only access tokens are exchanged, for access tokens")
        }
        guard let subject = form["subject_token"], var claims = await signer.verify(subject), claims.typ == "Bearer", claims.exp > now else {
            return .oauthError("invalid_request", "the subject_token is not a valid access token of this provider")
        }
        guard let audience = form["audience"], settings.exchangeAudiences.contains(audience) else {
            return .oauthError("invalid_target", "the audience is not one this client may exchange for")
        }
        let lifetime = Int(settings.accessTokenLifetime.components.seconds)
        claims.aud = audience
        claims.azp = clientID
        claims.iat = now
        claims.exp = now + lifetime
        if let scope = form["scope"] { claims.scope = scope }
        do {
            let document: [String: Any] = [
                "access_token": try await signer.sign(claims), "issued_token_type": Self.accessTokenType, "token_type": "Bearer",
                "expires_in": lifetime,
            ]
            let data = try JSONSerialization.data(withJSONObject: document, options: [.sortedKeys])
            return .json(String(decoding: data, as: UTF8.self))
        } catch {
            return .oauthError("server_error", "signing failed: \(error)", status: 500)
        }
    }

    func userinfo(_ request: DevRequest) async -> DevResponse {
        guard let header = request.authorization, header.lowercased().hasPrefix("bearer "),
            let claims = await signer.verify(String(header.dropFirst(7))), claims.typ == "Bearer"
        else {
            var response = DevResponse.oauthError("invalid_token", "a valid access token is required", status: 401)
            response.headers.append(("WWW-Authenticate", #"Bearer error="invalid_token""#))
            return response
        }
        let document: [String: Any] = [
            "sub": claims.sub, "name": claims.name, "preferred_username": claims.preferredUsername, "email": claims.email,
            "email_verified": true, "groups": claims.groups,
        ]
        let data = (try? JSONSerialization.data(withJSONObject: document, options: [.sortedKeys])) ?? Data()
        return .json(String(decoding: data, as: UTF8.self))
    }

    /// `newRefreshToken`: false on a refresh when tokens are not rotated (the response has none).
    private func issueTokens(_ grant: DevProviderStore.Grant, nonce: String?, now: Int, newRefreshToken: Bool = true) async -> DevResponse {
        guard let user = settings.users.first(where: { $0.username == grant.username }) else {
            return .oauthError("invalid_grant", "the user no longer exists")
        }
        let lifetime = Int(settings.accessTokenLifetime.components.seconds)
        let base = DevClaims(
            iss: issuer, sub: "dev-" + user.username, aud: grant.clientID, azp: grant.clientID, exp: now + lifetime, iat: now,
            sid: grant.sid, name: user.name, preferredUsername: user.username, email: user.email, groups: user.groups, typ: "Bearer")
        var access = base
        access.scope = grant.scope
        var id = base
        id.typ = "ID"
        id.nonce = nonce
        id.authTime = grant.authTime
        do {
            var document: [String: Any] = [
                "access_token": try await signer.sign(access), "id_token": try await signer.sign(id), "token_type": "Bearer",
                "expires_in": lifetime, "scope": grant.scope,
            ]
            if newRefreshToken, settings.refreshTokens != .none {
                let refreshToken = randomToken(bytes: 32)
                store.addRefreshToken(refreshToken, .init(grant: grant, expiresAt: now + Int(settings.refreshTokenLifetime.components.seconds)))
                document["refresh_token"] = refreshToken
            }
            let data = try JSONSerialization.data(withJSONObject: document, options: [.sortedKeys])
            return .json(String(decoding: data, as: UTF8.self))
        } catch {
            return .oauthError("server_error", "signing failed: \(error)", status: 500)
        }
    }
}

import NIOHTTP1
import PorteiroOIDC
public import PorteiroProxy
import PorteiroRouting
import PorteiroSessions

/// `POST /oauth2/backchannel_logout` (OpenID Connect Back-Channel Logout 1.0): the IdP says a
/// session ended. The token is verified like an ID token plus the logout rules, its `jti` is
/// claimed once across all replicas, and the `sid` (or every session of the `sub` begun by then)
/// is revoked in the shared store. Answers carry `Cache-Control: no-store`; errors are 400 with an
/// OAuth error body, or 503 when the store cannot record the logout (the IdP may retry).
extension CookieAuthenticator {
    public func backchannelLogout(form body: String, request: AuthRequest) async -> LocalResponse {
        let form = FormEncoding.decode(Substring(body))
        guard let token = form["logout_token"], !token.isEmpty else {
            return refuseLogout("missingLogoutToken", request)
        }
        let logout: LogoutTokenVerifier.Logout
        do {
            logout = try await verifiedLogout(token, now: request.now)
        } catch {
            return refuseLogout(error.reason, request)
        }
        let target: Revocation.Target
        if let sid = logout.sid {
            target = .session(sid: Revocation.scoped(sid, issuer: provider.issuer))
        } else if let subject = logout.subject {
            target = .subject(sub: Revocation.scoped(subject, issuer: provider.issuer), loggedInBefore: logout.issuedAt)
        } else {
            return refuseLogout("missingSubjectAndSession", request)
        }
        let revocation = Revocation(
            target: target,
            expiresAt: request.now + lifetime + Int64(logoutVerifier.tokens.clockSkew))
        do {
            let first = try await revocations.claimLogoutToken(
                id: "\(provider.issuer) \(logout.tokenID)", expiresAt: logoutVerifier.tokenIDRetention(issuedAt: logout.issuedAt),
                now: request.now)
            guard first else { return refuseLogout("replayedTokenID", request) }
            try await revocations.revoke(revocation, now: request.now)
        } catch {
            metrics.backchannelLogout("store_unavailable")
            logger.error("back-channel logout not recorded", metadata: ["error": "\(String(reflecting: error))", "request_id": "\(request.requestID)"])
            return LocalResponse(
                status: .serviceUnavailable, headers: ["Cache-Control": "no-store", "Content-Type": "application/json", "Retry-After": "5"],
                body: #"{"error":"temporarily_unavailable"}"#)
        }
        metrics.backchannelLogout("accepted")
        logger.notice(
            "back-channel logout", metadata: ["sid": "\(logout.sid != nil)", "sub": "\(logout.subject ?? "-")", "request_id": "\(request.requestID)"])
        return LocalResponse(status: .ok, headers: ["Cache-Control": "no-store"], body: "")
    }

    /// Verifies with the current keys; on an unknown key, once more with a freshly fetched JWKS.
    private func verifiedLogout(_ token: String, now: Int64) async throws(LogoutTokenVerifier.Failure) -> LogoutTokenVerifier.Logout {
        guard let keys = directory.keys else { throw LogoutTokenVerifier.Failure(reason: "providerNotLoaded") }
        do {
            return try await logoutVerifier.verify(token, keys: keys, now: Double(now))
        } catch where error.reason == IDTokenVerifier.Failure.Reason.unknownKey.rawValue {
            guard let fresh = await directory.refetchKeys() else { throw error }
            return try await logoutVerifier.verify(token, keys: fresh, now: Double(now))
        }
    }

    private func refuseLogout(_ reason: String, _ request: AuthRequest) -> LocalResponse {
        metrics.backchannelLogout(reason)
        logger.notice("back-channel logout refused", metadata: ["reason": "\(reason)", "request_id": "\(request.requestID)"])
        return LocalResponse(
            status: .badRequest, headers: ["Cache-Control": "no-store", "Content-Type": "application/json"],
            body: #"{"error":"invalid_request","error_description":"\#(jsonEscaped(reason))"}"#)
    }
}

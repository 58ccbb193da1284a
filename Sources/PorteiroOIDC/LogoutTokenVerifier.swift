/// Checks a back-channel logout token the way OpenID Connect Back-Channel Logout 1.0 §2.6 asks:
/// signed like an ID token (same keys and algorithm rules), `iss` exactly, `aud` containing our
/// client id, `iat` present and recent, `exp` (when present) not passed, a `jti`, the
/// back-channel logout member in `events`, a `sid` or a `sub`, and no `nonce` (so an ID token can
/// never pass as a logout token).
public struct LogoutTokenVerifier: Sendable {
    public struct Failure: Error, Equatable, CustomStringConvertible {
        public let reason: String
        public var description: String { "logout token refused: \(reason)" }

        public init(reason: String) {
            self.reason = reason
        }
    }

    /// What the token ends.
    public struct Logout: Sendable, Equatable {
        public var tokenID: String
        public var subject: String?
        public var sid: String?
        public var issuedAt: Int64
    }

    public static let event = "http://schemas.openid.net/event/backchannel-logout"
    /// A token issued longer ago than this is refused, which bounds how long `jti`s must be kept.
    public static let maxAge: Double = 300

    public let tokens: IDTokenVerifier

    public init(tokens: IDTokenVerifier) {
        self.tokens = tokens
    }

    /// How long a `jti` must be remembered to refuse every replay of a token issued at `issuedAt`.
    public func tokenIDRetention(issuedAt: Int64) -> Int64 {
        issuedAt + Int64(Self.maxAge + tokens.clockSkew)
    }

    public func verify(_ token: String, keys: ProviderKeys, now: Double) async throws(Failure) -> Logout {
        let claims: IDTokenClaims
        do {
            claims = try await tokens.signedClaims(token, keys: keys)
        } catch {
            throw Failure(reason: error.reason.rawValue)
        }
        return try check(claims, now: now)
    }

    public func check(_ claims: IDTokenClaims, now: Double) throws(Failure) -> Logout {
        func refuse(_ reason: String) -> Failure { Failure(reason: reason) }
        guard claims.issuer == tokens.issuer else { throw refuse("wrongIssuer") }
        guard claims.audiences.contains(tokens.clientID) else { throw refuse("wrongAudience") }
        guard let issuedAt = claims.issuedAt, let issuedAtSeconds = claims["iat"]?.unixSeconds else {
            throw refuse("missingIssuedAt")
        }
        guard issuedAt <= now + tokens.clockSkew else { throw refuse("issuedInTheFuture") }
        guard issuedAt >= now - Self.maxAge - tokens.clockSkew else { throw refuse("tooOld") }
        if let expiresAt = claims.expiresAt, expiresAt + tokens.clockSkew <= now { throw refuse("expired") }
        guard let tokenID = claims["jti"]?.string, !tokenID.isEmpty else { throw refuse("missingTokenID") }
        guard case .object(let events)? = claims["events"], case .object? = events[Self.event] else {
            throw refuse("notALogoutToken")
        }
        guard claims["nonce"] == nil else { throw refuse("nonceNotAllowed") }
        // A `sid` or `sub` that is there but no string is refused, not read as absent: an absent
        // `sid` widens the logout to every session of the subject.
        if let sid = claims["sid"], sid.string?.isEmpty != false { throw refuse("invalidSessionID") }
        if let sub = claims["sub"], sub.string?.isEmpty != false { throw refuse("invalidSubject") }
        let subject = claims.subject
        let sid = claims["sid"]?.string
        guard subject != nil || sid != nil else { throw refuse("missingSubjectAndSession") }
        return Logout(tokenID: tokenID, subject: subject, sid: sid, issuedAt: issuedAtSeconds)
    }
}

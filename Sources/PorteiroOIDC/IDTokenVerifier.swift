import JWTKit

/// Checks an ID token the way OpenID Connect Core §3.1.3.7 asks: signature against the provider's
/// keys, `iss` exactly, `aud` containing our client id, `azp` when there are several audiences,
/// `exp`/`iat`/`nbf` within the clock skew, `nonce` equal to ours. `none` is always refused. HMAC
/// is refused unless a client secret is given for it, and then verified with that secret alone —
/// never with a JWKS key, which is what stops the RSA-public-key-as-HMAC-secret confusion.
public struct IDTokenVerifier: Sendable {
    public struct Failure: Error, Equatable, CustomStringConvertible {
        public enum Reason: String, Sendable {
            case malformed, algorithmNotAllowed, unknownKey, badSignature, wrongIssuer, wrongAudience,
                wrongAuthorizedParty, expired, issuedInTheFuture, notYetValid, nonceMismatch, missingSubject,
                notAnAccessToken, wrongSubject
        }

        public let reason: Reason
        public var description: String { "ID token refused: \(reason.rawValue)" }

        public init(reason: Reason) {
            self.reason = reason
        }
    }

    public static let allowedAlgorithms: Set<String> = [
        "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA",
    ]
    /// HMAC algorithms with their digest sizes: a secret shorter than the digest is refused (the
    /// token header picks the algorithm, so HS512 must not reach a 32-byte secret).
    static let hmacDigests: [String: (DigestAlgorithm, bytes: Int)] = [
        "HS256": (.sha256, 32), "HS384": (.sha384, 48), "HS512": (.sha512, 64),
    ]

    public let issuer: String
    public let clientID: String
    public let clockSkew: Double
    private let hmacSecret: String?

    public init(issuer: String, clientID: String, clockSkew: Duration = .seconds(60), hmacSecret: String? = nil) {
        self.issuer = issuer
        self.clientID = clientID
        self.clockSkew = Double(clockSkew.components.seconds)
        self.hmacSecret = hmacSecret
    }

    /// What a token is checked as: an ID token of our login (our client id, our nonce); the ID
    /// token a refresh returns (our client id, the session's subject; OpenID Connect Core §12.2); or
    /// an API client's access token for one of a route's audiences — never an ID or logout token,
    /// which may carry the same audience (RFC 9068 §4, RFC 8725 §3.11).
    public enum Purpose: Sendable {
        case idToken(nonce: String)
        case refreshedIDToken(subject: String)
        case accessToken(audiences: Set<String>)
    }

    /// JOSE `typ` values an access token may carry: none, plain `JWT`, or RFC 9068's `at+jwt`.
    static let accessTokenTypes: Set<String> = ["jwt", "at+jwt", "application/at+jwt"]

    /// Verifies an ID token with `keys`; `now` in Unix seconds.
    public func verify(_ token: String, keys: ProviderKeys, nonce: String, now: Double) async throws(Failure)
        -> IDTokenClaims
    {
        try await verify(token, keys: keys, purpose: .idToken(nonce: nonce), now: now)
    }

    public func verify(_ token: String, keys: ProviderKeys, purpose: Purpose, now: Double) async throws(Failure)
        -> IDTokenClaims
    {
        let claims = try await signedClaims(token, keys: keys)
        if case .accessToken = purpose {
            let type = (try? DefaultJWTParser().parse(Array(token.utf8), as: IDTokenClaims.self))?.header.typ
            guard type.map({ Self.accessTokenTypes.contains($0.lowercased()) }) ?? true else {
                throw Failure(reason: .notAnAccessToken)
            }
        }
        try check(claims, purpose: purpose, now: now)
        return claims
    }

    /// The claims of a token whose signature verifies (by the rules above), not yet checked.
    public func signedClaims(_ token: String, keys: ProviderKeys) async throws(Failure) -> IDTokenClaims {
        let header: JWTHeader
        do {
            header = try DefaultJWTParser().parse(Array(token.utf8), as: IDTokenClaims.self).header
        } catch {
            throw Failure(reason: .malformed)
        }
        guard let alg = header.alg else { throw Failure(reason: .algorithmNotAllowed) }
        // RFC 7515 §4.1.11: a `crit` header lists extensions the verifier must understand; Porteiro
        // understands none, so such a token is refused rather than half-checked.
        guard header.fields["crit"] == nil else { throw Failure(reason: .malformed) }
        if let (digest, size) = Self.hmacDigests[alg], let hmacSecret {
            guard hmacSecret.utf8.count >= size else { throw Failure(reason: .algorithmNotAllowed) }
            // A collection holding only the client secret, for this one algorithm (logins are rare).
            let hmacKeys = JWTKeyCollection()
            await hmacKeys.add(hmac: HMACKey(from: Array(hmacSecret.utf8)), digestAlgorithm: digest)
            do {
                return try await hmacKeys.verify(token, as: IDTokenClaims.self)
            } catch {
                throw Failure(reason: .badSignature)
            }
        }
        guard Self.allowedAlgorithms.contains(alg) else { throw Failure(reason: .algorithmNotAllowed) }
        if let kid = header.kid {
            guard keys.keyIDs.contains(kid) else { throw Failure(reason: .unknownKey) }
        } else if keys.keyIDs.count > 1 {
            throw Failure(reason: .unknownKey)
        }
        do {
            return try await keys.collection.verify(token, as: IDTokenClaims.self)
        } catch {
            throw Failure(reason: .badSignature)
        }
    }

    /// The claim rules alone, for a token whose signature has been checked.
    public func check(_ claims: IDTokenClaims, purpose: Purpose, now: Double) throws(Failure) {
        guard claims.issuer == issuer else { throw Failure(reason: .wrongIssuer) }
        guard claims.subject?.isEmpty == false else { throw Failure(reason: .missingSubject) }
        let audiences = claims.audiences
        switch purpose {
        case .accessToken(let accepted):
            guard audiences.contains(where: accepted.contains) else { throw Failure(reason: .wrongAudience) }
            // An ID token (Keycloak's `typ: ID`, a nonce or a hash of another token) or a logout
            // token (`events`) is proof of a login at a client, not a grant to call an API.
            // A `typ` claim is Keycloak's: it must say `Bearer`, as a string (an array is no answer).
            let kind = claims["typ"]
            if claims.nonce != nil || claims["at_hash"] != nil || claims["c_hash"] != nil || claims["events"] != nil
                || (kind != nil && kind?.string?.lowercased() != "bearer")
            {
                throw Failure(reason: .notAnAccessToken)
            }
        case .idToken, .refreshedIDToken:
            guard audiences.contains(clientID) else { throw Failure(reason: .wrongAudience) }
            if audiences.count > 1 || claims.authorizedParty != nil {
                guard claims.authorizedParty == clientID else { throw Failure(reason: .wrongAuthorizedParty) }
            }
        }
        if case .refreshedIDToken(let subject) = purpose, claims.subject != subject { throw Failure(reason: .wrongSubject) }
        guard let expiresAt = claims.expiresAt else { throw Failure(reason: .expired) }
        // `exp: 1e30` would make a token good forever; a time no Unix second holds is no time.
        guard UnixSeconds.bounded(expiresAt) != nil else { throw Failure(reason: .malformed) }
        guard now < expiresAt + clockSkew else { throw Failure(reason: .expired) }
        guard let issuedAt = claims.issuedAt, issuedAt <= now + clockSkew else { throw Failure(reason: .issuedInTheFuture) }
        if let notBefore = claims.notBefore, notBefore > now + clockSkew { throw Failure(reason: .notYetValid) }
        if case .idToken(let nonce) = purpose {
            guard let tokenNonce = claims.nonce, constantTimeEqual(tokenNonce, nonce) else { throw Failure(reason: .nonceMismatch) }
        }
    }
}

/// Compares secrets without an early exit, so timing does not reveal how much matched.
public func constantTimeEqual(_ a: String, _ b: String) -> Bool {
    let x = Array(a.utf8), y = Array(b.utf8)
    guard x.count == y.count else { return false }
    return zip(x, y).reduce(0) { $0 | ($1.0 ^ $1.1) } == 0
}

import JWTKit

/// A token endpoint answer (RFC 6749 §5.1).
public struct TokenResponse: Sendable, Equatable, Codable {
    public var accessToken: String
    public var tokenType: String?
    /// As sent: any JSON number, or a numeric string (some IdPs quote it). Read through
    /// `accessTokenExpiresAt`, which bounds it.
    public var expiresIn: Double?
    public var refreshToken: String?
    public var idToken: String?
    /// RFC 8693 §2.2.1: what a token exchange issued (`…:token-type:access_token` is the one
    /// Porteiro asks for); nil elsewhere.
    public var issuedTokenType: String?

    enum CodingKeys: String, CodingKey {
        case accessToken = "access_token"
        case tokenType = "token_type"
        case expiresIn = "expires_in"
        case refreshToken = "refresh_token"
        case idToken = "id_token"
        case issuedTokenType = "issued_token_type"
    }

    public init(accessToken: String, tokenType: String? = "Bearer", expiresIn: Double? = nil, refreshToken: String? = nil, idToken: String? = nil) {
        self.accessToken = accessToken
        self.tokenType = tokenType
        self.expiresIn = expiresIn
        self.refreshToken = refreshToken
        self.idToken = idToken
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        accessToken = try container.decode(String.self, forKey: .accessToken)
        tokenType = try container.decodeIfPresent(String.self, forKey: .tokenType)
        refreshToken = try container.decodeIfPresent(String.self, forKey: .refreshToken)
        idToken = try container.decodeIfPresent(String.self, forKey: .idToken)
        issuedTokenType = try container.decodeIfPresent(String.self, forKey: .issuedTokenType)
        switch try container.decodeIfPresent(ClaimValue.self, forKey: .expiresIn) {
        case .number(let value)?: expiresIn = value
        case .string(let text)?: expiresIn = Double(text)
        default: expiresIn = nil
        }
    }

    /// Unix seconds when the access token expires: the earlier of `expires_in` (RFC 6749 only
    /// recommends it) and the `exp` of a JWT access token — read, not verified, since it only
    /// schedules the next refresh; an IdP whose two disagree must not have a token forwarded past
    /// its own `exp`. 0 when neither is known (no refresh is scheduled).
    ///
    /// Fail closed: a negative `expires_in`, or an `exp` that is no sane time (0, negative, a
    /// string, past year 9999), makes the token expired on arrival (a time at or before `now`,
    /// never 0). Only an `expires_in` too large to add up counts as unknown.
    public func accessTokenExpiresAt(now: Int64) -> Int64 {
        var expiry: Int64?
        if let expiresIn {
            if let seconds = UnixSeconds.bounded(expiresIn) {
                if seconds <= UnixSeconds.latest - now { expiry = now + seconds }
            } else if !(expiresIn > 0) {
                expiry = now
            }
        }
        if let parsed = try? DefaultJWTParser().parse(Array(accessToken.utf8), as: IDTokenClaims.self),
            let claim = parsed.payload["exp"]
        {
            let exp = claim.unixSeconds ?? now
            expiry = min(expiry ?? exp, exp)
        }
        guard let expiry else { return 0 }
        return max(expiry, 1)
    }
}

import JWTKit
public import PorteiroConfig

/// What the provider's discovery document says (OpenID Connect Discovery 1.0), after the
/// configured endpoint overrides.
public struct ProviderMetadata: Sendable, Equatable, Codable {
    public var issuer: String
    public var authorizationEndpoint: String
    public var tokenEndpoint: String
    public var jwksURI: String
    public var userinfoEndpoint: String?
    public var endSessionEndpoint: String?

    enum CodingKeys: String, CodingKey {
        case issuer
        case authorizationEndpoint = "authorization_endpoint"
        case tokenEndpoint = "token_endpoint"
        case jwksURI = "jwks_uri"
        case userinfoEndpoint = "userinfo_endpoint"
        case endSessionEndpoint = "end_session_endpoint"
    }

    public init(
        issuer: String, authorizationEndpoint: String, tokenEndpoint: String, jwksURI: String,
        userinfoEndpoint: String? = nil, endSessionEndpoint: String? = nil
    ) {
        self.issuer = issuer
        self.authorizationEndpoint = authorizationEndpoint
        self.tokenEndpoint = tokenEndpoint
        self.jwksURI = jwksURI
        self.userinfoEndpoint = userinfoEndpoint
        self.endSessionEndpoint = endSessionEndpoint
    }

    /// Everything from the configuration, when it names the three required endpoints: then no
    /// discovery is needed at all.
    public init?(overrides provider: ProviderConfig) {
        guard let authorization = provider.endpoints.authorization, let token = provider.endpoints.token,
            let jwks = provider.endpoints.jwks
        else { return nil }
        self.init(
            issuer: provider.issuer, authorizationEndpoint: authorization, tokenEndpoint: token, jwksURI: jwks,
            userinfoEndpoint: provider.endpoints.userinfo, endSessionEndpoint: provider.endpoints.endSession)
    }

    /// The discovered document with configured overrides applied.
    public func applying(_ endpoints: ProviderConfig.Endpoints) -> ProviderMetadata {
        var result = self
        result.authorizationEndpoint = endpoints.authorization ?? authorizationEndpoint
        result.tokenEndpoint = endpoints.token ?? tokenEndpoint
        result.jwksURI = endpoints.jwks ?? jwksURI
        result.userinfoEndpoint = endpoints.userinfo ?? userinfoEndpoint
        result.endSessionEndpoint = endpoints.endSession ?? endSessionEndpoint
        return result
    }
}

/// A token endpoint answer (RFC 6749 §5.1).
public struct TokenResponse: Sendable, Equatable, Codable {
    public var accessToken: String
    public var tokenType: String?
    public var expiresIn: Double?
    public var refreshToken: String?
    public var idToken: String?

    enum CodingKeys: String, CodingKey {
        case accessToken = "access_token"
        case tokenType = "token_type"
        case expiresIn = "expires_in"
        case refreshToken = "refresh_token"
        case idToken = "id_token"
    }

    public init(accessToken: String, tokenType: String? = "Bearer", expiresIn: Double? = nil, refreshToken: String? = nil, idToken: String? = nil) {
        self.accessToken = accessToken
        self.tokenType = tokenType
        self.expiresIn = expiresIn
        self.refreshToken = refreshToken
        self.idToken = idToken
    }

    /// Unix seconds when the access token expires: from `expires_in` (RFC 6749 only recommends it),
    /// else from the `exp` of a JWT access token — read with jwt-kit, not verified, since it only
    /// schedules the next refresh — else 0 (unknown: no refresh is scheduled).
    public func accessTokenExpiresAt(now: Int64) -> Int64 {
        if let expiresIn { return now + Int64(expiresIn) }
        guard let parsed = try? DefaultJWTParser().parse(Array(accessToken.utf8), as: ExpiryOnly.self) else { return 0 }
        return Int64(parsed.payload.exp.value.timeIntervalSince1970)
    }
}

/// Just the `exp` of a token whose signature is the resource server's business, not Porteiro's.
private struct ExpiryOnly: JWTPayload {
    var exp: ExpirationClaim

    func verify(using algorithm: some JWTAlgorithm) async throws {}
}

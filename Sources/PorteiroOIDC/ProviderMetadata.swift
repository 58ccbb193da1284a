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
    /// RFC 9207: the provider names itself (`iss`) in every authorization response, so a callback
    /// without it was not sent by this provider.
    public var issuesResponseIssuer: Bool?

    enum CodingKeys: String, CodingKey {
        case issuer
        case authorizationEndpoint = "authorization_endpoint"
        case tokenEndpoint = "token_endpoint"
        case jwksURI = "jwks_uri"
        case userinfoEndpoint = "userinfo_endpoint"
        case endSessionEndpoint = "end_session_endpoint"
        case issuesResponseIssuer = "authorization_response_iss_parameter_supported"
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

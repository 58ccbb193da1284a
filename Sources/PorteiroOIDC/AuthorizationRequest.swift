public import PorteiroConfig
import PorteiroRouting

/// One login attempt's secrets and the URL that starts it at the provider (RFC 6749 §4.1.1 with
/// PKCE and the OIDC `nonce`). `state` and `nonce` carry 256 random bits each.
public struct AuthorizationRequest: Sendable, Equatable {
    public var state: String
    public var nonce: String
    public var pkce: PKCE

    public init(state: String, nonce: String, pkce: PKCE) {
        self.state = state
        self.nonce = nonce
        self.pkce = pkce
    }

    public static func random() -> AuthorizationRequest {
        AuthorizationRequest(state: randomToken(bytes: 32), nonce: randomToken(bytes: 32), pkce: .random())
    }

    public func url(endpoint: String, provider: ProviderConfig, redirectURI: String) -> String {
        var parameters: [(String, String)] = [
            ("response_type", "code"), ("client_id", provider.clientID), ("redirect_uri", redirectURI),
            ("scope", provider.scopes.joined(separator: " ")), ("state", state), ("nonce", nonce),
            ("code_challenge", pkce.challenge), ("code_challenge_method", PKCE.method),
        ]
        let reserved = Set(parameters.map(\.0))
        parameters += provider.extraAuthParameters.sorted { $0.key < $1.key }.filter { !reserved.contains($0.key) }
        return endpoint + (endpoint.contains("?") ? "&" : "?") + FormEncoding.encode(parameters)
    }
}

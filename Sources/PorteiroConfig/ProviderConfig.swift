/// The OpenID Connect provider (the organisation's IAM).
///
/// A missing `clientSecret` is the normal case: the IAM's guidance is a public client with PKCE.
public struct ProviderConfig: Sendable, Equatable {
    public var issuer: String
    public var clientID: String
    /// From `client_secret` (usually `${ENV}`) or `client_secret_file`; nil = public client.
    public var clientSecret: String?
    public var scopes: [String]

    public init(issuer: String, clientID: String, clientSecret: String? = nil, scopes: [String] = ["openid", "profile", "email"]) {
        self.issuer = issuer
        self.clientID = clientID
        self.clientSecret = clientSecret
        self.scopes = scopes
    }
}

/// The OpenID Connect provider (the organisation's IAM).
///
/// A missing `clientSecret` is the normal case: the IAM's guidance is a public client with PKCE.
public struct ProviderConfig: Sendable, Equatable {
    public enum ClientAuthentication: String, Sendable, CaseIterable {
        case clientSecretBasic = "client_secret_basic"
        case clientSecretPost = "client_secret_post"
    }

    /// Where the identity is found in the ID token (and userinfo): dotted paths.
    public struct Claims: Sendable, Equatable {
        public var user = "preferred_username"
        public var email = "email"
        public var groups = "groups"
        /// Keycloak realm roles; `resource_access.<client>.roles` for client roles.
        public var roles = "realm_access.roles"

        public init() {}
    }

    /// Endpoint overrides for IdPs without discovery; each wins over what discovery says.
    public struct Endpoints: Sendable, Equatable {
        public var authorization: String?
        public var token: String?
        public var jwks: String?
        public var userinfo: String?
        public var endSession: String?

        public init() {}
    }

    public var issuer: String
    public var clientID: String
    /// From `client_secret` (usually `${ENV}`) or `client_secret_file`; nil = public client.
    public var clientSecret: String?
    public var tokenEndpointAuth: ClientAuthentication = .clientSecretBasic
    public var scopes: [String]
    /// Extra authorization-request parameters (`prompt`, `acr_values`, `kc_idp_hint`, `ui_locales`…).
    public var extraAuthParameters: [String: String] = [:]
    public var claims = Claims()
    /// Merge the userinfo endpoint's claims into the ID token's at login and at each refresh.
    public var useUserinfo = false
    /// `allow.emails` and `allow.email_domains` (and forward-auth's `allowed_emails`,
    /// `allowed_email_domains`) match only an email the IdP marks `email_verified: true`: anyone
    /// who can put an unverified address in their IdP profile would otherwise pass them.
    public var requireVerifiedEmail = true
    public var endpoints = Endpoints()
    /// Accept ID tokens signed HS256/384/512 with the client secret (OpenID Connect Core §10.1).
    /// Off by default: then only asymmetric signatures are accepted.
    public var hmacIDTokens = false
    /// Tolerance for exp/iat/nbf between Porteiro's clock and the IdP's.
    public var clockSkew: Duration = .seconds(60)
    /// Timeout of every call to the IdP (discovery, JWKS, token, userinfo).
    public var timeout: Duration = .seconds(10)

    public init(issuer: String, clientID: String, clientSecret: String? = nil, scopes: [String] = ["openid", "profile", "email"]) {
        self.issuer = issuer
        self.clientID = clientID
        self.clientSecret = clientSecret
        self.scopes = scopes
    }
}

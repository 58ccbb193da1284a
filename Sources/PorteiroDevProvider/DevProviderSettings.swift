/// Who may log in at the development provider, which clients it knows, and how long its tokens
/// live. Everything is in memory and gone when the process ends.
public struct DevProviderSettings: Sendable {
    public struct User: Sendable {
        public var username: String
        public var password: String
        public var name: String
        public var email: String
        public var groups: [String]

        public init(username: String, password: String, name: String, email: String, groups: [String]) {
            self.username = username
            self.password = password
            self.name = name
            self.email = email
            self.groups = groups
        }
    }

    /// A public client: a `client_id` and the exact redirect URIs it registered, no secret.
    public struct Client: Sendable {
        public var id: String
        public var redirectURIs: [String]
        /// Where the provider may send the browser after logout: URLs starting with one of these.
        public var postLogoutRedirectPrefixes: [String]
        /// Where a signed logout token is posted when a session ends here (OpenID Connect
        /// Back-Channel Logout), as Keycloak's "Backchannel logout URL".
        public var backchannelLogoutURI: String?

        public init(id: String, redirectURIs: [String], postLogoutRedirectPrefixes: [String], backchannelLogoutURI: String? = nil) {
            self.id = id
            self.redirectURIs = redirectURIs
            self.postLogoutRedirectPrefixes = postLogoutRedirectPrefixes
            self.backchannelLogoutURI = backchannelLogoutURI
        }
    }

    /// What a token response carries for refreshing, as providers differ: Keycloak rotates, many
    /// return no new refresh token on refresh (the old one stays good), some issue none at all.
    public enum RefreshTokens: String, Sendable, CaseIterable {
        /// A new refresh token with every response; a used one is refused.
        case rotate
        /// One refresh token at login, used again and again; refresh responses carry none.
        case reuse
        /// No refresh token: the session ends with its access token.
        case none
    }

    public var users: [User]
    public var clients: [Client]
    public var accessTokenLifetime: Duration
    public var refreshTokens = RefreshTokens.rotate
    /// An unused refresh token expires after this long.
    public var refreshTokenLifetime: Duration = .seconds(8 * 3600)
    /// The audiences a client may exchange its access tokens for (RFC 8693, as Keycloak's
    /// "standard token exchange" with the audience's client allowed); none = no exchange.
    public var exchangeAudiences: [String] = []

    public init(users: [User], clients: [Client], accessTokenLifetime: Duration = .seconds(300)) {
        self.users = users
        self.clients = clients
        self.accessTokenLifetime = accessTokenLifetime
    }

    /// The demo's users and one public client for the gateway at `gateway` (its callback is the
    /// redirect URI; any page of it may follow a logout; its back-channel logout endpoint hears
    /// of every session that ends here).
    public static func demo(clientID: String, gateway: String, accessTokenLifetime: Duration) -> DevProviderSettings {
        let client = Client(
            id: clientID, redirectURIs: [gateway + "/oauth2/callback"], postLogoutRedirectPrefixes: [gateway + "/"],
            backchannelLogoutURI: gateway + "/oauth2/backchannel_logout")
        return DevProviderSettings(users: demoUsers, clients: [client], accessTokenLifetime: accessTokenLifetime)
    }

    /// The demo's people: `maria` is in group `servidores`, `joao` in none.
    public static let demoUsers = [
        User(username: "maria", password: "maria", name: "Maria Silva", email: "maria@example.org", groups: ["servidores"]),
        User(username: "joao", password: "joao", name: "João Souza", email: "joao@example.org", groups: []),
    ]
}

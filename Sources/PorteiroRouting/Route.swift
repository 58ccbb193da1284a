public import PorteiroConfig
public import PorteiroPolicy

/// A route compiled from `RouteConfig`: upstream parsed, host and prefix ready for the table.
/// A class, immutable: every exchange holds its route, and a reference costs one retain where a
/// copy of all these fields would cost dozens.
public final class Route: Sendable {
    /// Index in the configuration's `routes` list; names the route in logs and errors.
    public let index: Int
    public let host: HostPattern?
    public let prefix: String
    public let upstream: UpstreamAddress
    /// `upstream` as the access log and error logs name it, built once, not per request.
    public let upstreamName: String
    public let auth: RouteConfig.Auth
    public let stripPrefix: Bool
    public let preserveHost: Bool
    public let timeout: Duration
    public let passAccessToken: Bool
    public let passIdentityHeaders: Bool
    public let identityHeaders: RouteConfig.IdentityHeaderNames
    /// Index of the provider whose sessions the route takes (`provider:`; 0 = the first).
    public let provider: Int
    /// `auth: bearer`: indexes of the providers whose access tokens are accepted.
    public let bearerProviders: [Int]
    /// `headers:`, filled in from the identity for each signed-in request.
    public let headers: [TemplatedHeader]
    /// `token_exchange:`: the app gets a token of its own instead of the session's.
    public let tokenExchange: RouteConfig.TokenExchange?
    /// Compiled `allow:`; `anySignedInUser` when absent.
    public let policy: AccessPolicy
    /// Uppercased methods the route accepts; nil = all.
    public let methods: Set<String>?
    public let skipAuth: [SkipAuthRule]
    public let audiences: Set<String>
    public let allowSession: Bool
    /// Lowercased origins allowed to read Porteiro's 401 answers.
    public let corsOrigins: Set<String>
    /// `pass_client_authorization`: the client's `Authorization` may reach the app.
    public let passClientAuthorization: Bool
    /// `case_insensitive`: the prefix matches ignoring ASCII case.
    public let caseInsensitive: Bool

    /// `provider` and `bearerProviders`: `config.provider` and `config.providers` as indexes into
    /// the configuration's providers (`RouteTable` resolves the names).
    public init(index: Int, config: RouteConfig, provider: Int = 0, bearerProviders: [Int]? = nil) throws(InvalidValue) {
        self.index = index
        self.provider = provider
        self.bearerProviders = bearerProviders ?? [provider]
        self.host = config.host.flatMap(HostPattern.init)
        self.prefix = config.path
        self.upstream = try UpstreamAddress.parse(config.upstream).get()
        self.upstreamName = upstream.description
        self.auth = config.auth
        self.stripPrefix = config.stripPrefix
        self.preserveHost = config.preserveHost
        self.timeout = config.timeout
        self.passAccessToken = config.passAccessToken
        self.passIdentityHeaders = config.passIdentityHeaders
        self.identityHeaders = config.identityHeaders
        self.headers = config.headers
        self.tokenExchange = config.tokenExchange
        // An `allow:` that names no one admits no one (validation refuses it; this is the backstop).
        self.policy = config.allow.map {
            let policy = AccessPolicy(groups: $0.groups, roles: $0.roles, emails: $0.emails, emailDomains: $0.emailDomains, claims: $0.claims)
            return policy.admitsEveryone ? .nobody : policy
        } ?? .anySignedInUser
        self.methods = config.methods.map(Set.init)
        self.skipAuth = config.skipAuth.map { SkipAuthRule(methods: $0.methods, pattern: $0.path) }
        self.audiences = Set(config.audiences)
        self.allowSession = config.allowSession
        self.corsOrigins = Set(config.corsOrigins.map { $0.lowercased() })
        self.passClientAuthorization = config.passClientAuthorization
        self.caseInsensitive = config.caseInsensitive
    }

    /// True when a skip-auth rule lets this request through without sign-in — under every reading
    /// of its path, so a `;parameter` read differently by the app never skips sign-in.
    public func skipsAuth(method: String, target: RequestTarget) -> Bool {
        target.routingPaths.allSatisfy { path in skipAuth.contains { $0.matches(method: method, path: path) } }
    }

    /// True when `path` found this route only as its directory without the trailing slash
    /// (`/admin` for `/admin/`): a proxied request is redirected to the slash, as nginx does.
    public func isDirectoryWithoutSlash(_ path: String) -> Bool {
        prefix.utf8.count > path.utf8.count
    }

    /// The path to send upstream for a request that matched this route.
    public func upstreamPath(for target: RequestTarget) -> String {
        var path = target.path
        if stripPrefix {
            let remainder = target.path.hasPrefix(prefix)
                ? target.path.dropFirst(prefix.count) : target.routingPath.dropFirst(prefix.count)
            path = remainder.hasPrefix("/") ? String(remainder) : "/" + remainder
        }
        return upstream.basePath.isEmpty ? path : upstream.basePath + path
    }
}

public import PorteiroConfig
public import PorteiroPolicy

/// A route compiled from `RouteConfig`: upstream parsed, host and prefix ready for the table.
public struct Route: Sendable, Equatable {
    /// Index in the configuration's `routes` list; names the route in logs and errors.
    public var index: Int
    public var host: HostPattern?
    public var prefix: String
    public var upstream: UpstreamAddress
    public var auth: RouteConfig.Auth
    public var stripPrefix: Bool
    public var preserveHost: Bool
    public var timeout: Duration
    public var passAccessToken: Bool
    public var passIdentityHeaders: Bool
    public var identityHeaders: RouteConfig.IdentityHeaderNames
    /// Compiled `allow:`; `anySignedInUser` when absent.
    public var policy: AccessPolicy
    /// Uppercased methods the route accepts; nil = all.
    public var methods: Set<String>?
    public var skipAuth: [SkipAuthRule]
    public var audiences: Set<String>
    public var allowSession: Bool
    /// Lowercased origins allowed to read Porteiro's 401 answers.
    public var corsOrigins: Set<String>

    public init(index: Int, config: RouteConfig) throws(InvalidValue) {
        self.index = index
        self.host = config.host.flatMap(HostPattern.init)
        self.prefix = config.path
        self.upstream = try UpstreamAddress.parse(config.upstream).get()
        self.auth = config.auth
        self.stripPrefix = config.stripPrefix
        self.preserveHost = config.preserveHost
        self.timeout = config.timeout
        self.passAccessToken = config.passAccessToken
        self.passIdentityHeaders = config.passIdentityHeaders
        self.identityHeaders = config.identityHeaders
        self.policy = config.allow.map {
            AccessPolicy(groups: $0.groups, roles: $0.roles, emails: $0.emails, emailDomains: $0.emailDomains, claims: $0.claims)
        } ?? .anySignedInUser
        self.methods = config.methods.map(Set.init)
        self.skipAuth = config.skipAuth.map { SkipAuthRule(methods: $0.methods, pattern: $0.path) }
        self.audiences = Set(config.audiences)
        self.allowSession = config.allowSession
        self.corsOrigins = Set(config.corsOrigins.map { $0.lowercased() })
    }

    /// True when a skip-auth rule lets this request through without sign-in.
    public func skipsAuth(method: String, path: String) -> Bool {
        skipAuth.contains { $0.matches(method: method, path: path) }
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

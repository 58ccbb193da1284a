/// The one configuration model. Every input format (today: YAML) decodes into this, and every
/// consumer (server, CLI summaries, tests) reads only this — oauth2-proxy's two drifting formats
/// are the cautionary tale.
public struct GatewayConfig: Sendable, Equatable {
    public var server: ServerConfig
    public var upstream: UpstreamPoolConfig
    public var logging: LoggingConfig
    public var forwardAuth: ForwardAuthConfig
    /// `provider:` (one, named `default`) or `providers:` (several, by name, in the order
    /// written); empty while no route needs a login. A route without `provider` uses the first.
    public var providers: [NamedProvider]
    /// Absent while no route needs a login.
    public var session: SessionConfig?
    public var database: DatabaseConfig
    public var revocation: RevocationConfig
    public var routes: [RouteConfig]

    public init(
        server: ServerConfig = .init(),
        upstream: UpstreamPoolConfig = .init(),
        logging: LoggingConfig = .init(),
        forwardAuth: ForwardAuthConfig = .init(),
        provider: ProviderConfig? = nil,
        session: SessionConfig? = nil,
        database: DatabaseConfig = .init(),
        revocation: RevocationConfig = .init(),
        routes: [RouteConfig] = []
    ) {
        self.server = server
        self.upstream = upstream
        self.logging = logging
        self.forwardAuth = forwardAuth
        self.providers = provider.map { [NamedProvider(name: NamedProvider.defaultName, config: $0)] } ?? []
        self.session = session
        self.database = database
        self.revocation = revocation
        self.routes = routes
    }
}

extension GatewayConfig {
    /// The first provider: the one routes without `provider` use. Setting it replaces the first
    /// (or makes the only one, named `default`).
    public var provider: ProviderConfig? {
        get { providers.first?.config }
        set {
            switch (newValue, providers.isEmpty) {
            case (nil, _): providers = []
            case (let config?, true): providers = [NamedProvider(name: NamedProvider.defaultName, config: config)]
            case (let config?, false): providers[0].config = config
            }
        }
    }

    /// The index of the provider called `name`; nil = the first (when there is one).
    public func providerIndex(named name: String?) -> Int? {
        guard let name else { return providers.isEmpty ? nil : 0 }
        return providers.firstIndex { $0.name == name }
    }

    /// The session cookie of provider `index`: `session.cookie_name` for the first, so sessions
    /// from before several providers keep working; `<cookie_name>_<name>` for the others.
    public func sessionCookieName(provider index: Int) -> String {
        let base = session?.cookieName ?? "_porteiro"
        return index == 0 ? base : base + "_" + providers[index].name
    }
}

/// One entry of `providers:`.
public struct NamedProvider: Sendable, Equatable {
    /// `provider:` (just one) is this one.
    public static let defaultName = "default"

    public var name: String
    public var config: ProviderConfig

    public init(name: String, config: ProviderConfig) {
        self.name = name
        self.config = config
    }
}

/// The listener and what Porteiro believes about its clients.
public struct ServerConfig: Sendable, Equatable {
    public var listen: String = "127.0.0.1:4180"
    /// Base for `redirect_uri` and absolute redirects; also decides the cookie `Secure` flag.
    public var publicURL: String?
    /// Peers whose `X-Forwarded-For` / `-Proto` / `-Host` are believed and appended to.
    public var trustedProxies: [String] = []
    /// Hosts (exact, or `.example.org` for subdomains) that login and sign-out may return to,
    /// besides the public URL's own.
    public var allowedRedirectHosts: [String] = []
    /// Folder with an `error.html` that replaces Porteiro's built-in error page.
    public var templatesDir: String?
    /// That file's content, read once when the configuration is loaded.
    public var errorPageTemplate: String?
    /// How long in-flight requests may run after SIGTERM before connections are closed.
    public var shutdownGrace: Duration = .seconds(30)
    /// Longest a keep-alive client connection may sit idle between requests.
    public var idleTimeout: Duration = .seconds(60)
    /// Request-head size limit (request line and all headers); larger heads get 431.
    public var maxHeaderBytes: Int = 32 * 1024
    /// Header-count limit; more headers get 431.
    public var maxHeaderCount: Int = 100
    /// How often the configuration file (and the TLS files) are checked for changes; zero = only on SIGHUP.
    public var configPollInterval: Duration = .seconds(2)
    /// Serve the Prometheus metrics on the main listener at this path. Off by default: the main
    /// listener faces users, and the metrics are for the operator.
    public var metricsPath: String?
    /// A second listener (`host:port`) that serves only `/metrics`, `/ping` and `/ready`.
    public var metricsListen: String?
    /// TLS termination; absent = plain HTTP (TLS ends at a load balancer in front).
    public var tls: TLSConfig?
    /// Event-loop threads; 0 = one per core.
    public var threads: Int = 0
    /// Client connections open at once; one more is closed at once. 0 = derived from the process's
    /// descriptor limit (half of it, less a reserve), so `accept` never runs out of descriptors.
    public var maxConnections: Int = 0
    /// Pass client headers whose names hold `_`. Off, as in nginx: WSGI/CGI apps read
    /// `X_Forwarded_User` as `X-Forwarded-User`, so such a header could impersonate anyone.
    public var underscoresInHeaders = false

    public init() {}
}

/// Certificate and key of the listener, in PEM. Both files are re-read when they change, so a
/// certbot or cert-manager renewal needs no restart.
public struct TLSConfig: Sendable, Equatable {
    public var certificateFile: String
    public var keyFile: String
    /// Offer HTTP/2 by ALPN (HTTP/1.1 stays the fallback).
    public var http2: Bool = true

    public init(certificateFile: String, keyFile: String) {
        self.certificateFile = certificateFile
        self.keyFile = keyFile
    }
}

/// How Porteiro keeps connections to upstream apps.
public struct UpstreamPoolConfig: Sendable, Equatable {
    public var connectTimeout: Duration = .seconds(5)
    /// An idle pooled connection is closed after this long; keep it below the upstream's own
    /// keep-alive timeout so Porteiro never reuses a connection the upstream is closing.
    public var idleTimeout: Duration = .seconds(30)
    /// A pooled connection is not reused after this age, so DNS and load-balancer changes take hold.
    public var maxLifetime: Duration = .seconds(600)
    /// Idle connections kept per upstream on each event loop.
    public var maxIdlePerUpstream: Int = 64
    /// PEM bundle of the CAs that sign `https://` upstreams' certificates; absent = the system's.
    public var caFile: String?
    /// Accept any certificate from `https://` upstreams. Logged as a warning at every start.
    public var insecureSkipVerify = false

    public init() {}
}

/// `/oauth2/auth`, for nginx `auth_request` and Traefik/Caddy forward-auth.
public struct ForwardAuthConfig: Sendable, Equatable {
    /// Add `X-Auth-Request-Access-Token` to 202 answers.
    public var passAccessToken = false

    public init() {}
}

public struct LoggingConfig: Sendable, Equatable {
    public enum Level: String, Sendable, CaseIterable {
        case trace, debug, info, notice, warning, error, critical
    }

    public enum Format: String, Sendable, CaseIterable {
        /// `key=value` pairs, one line per event.
        case logfmt
        /// One JSON object per line.
        case json
    }

    public var level: Level = .info
    public var format: Format = .logfmt
    /// One line per request: method, host, path without query, status, bytes, duration, upstream, request id.
    public var accessLog: Bool = true

    public init() {}
}

extension GatewayConfig {
    /// The claim paths routes read (in `allow.claims` and `{claims.…}` in `headers`): sessions
    /// keep these claims and no others. Read at startup, so a reload that changes them needs a restart.
    public var keptClaimPaths: Set<String> {
        Set(routes.flatMap { route in
            (route.allow.map { Array($0.claims.keys) } ?? [])
                + route.headers.flatMap { $0.template.sources.compactMap { if case .claim(let path) = $0 { path } else { nil } } }
        })
    }
}

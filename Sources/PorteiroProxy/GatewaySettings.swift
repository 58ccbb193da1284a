import NIOConcurrencyHelpers
public import PorteiroConfig
public import PorteiroMetrics
public import PorteiroRouting

/// What every client connection needs to decide a request, derived once from the configuration:
/// compiled routes, parsed trusted-proxy ranges, limits. Immutable and shared by all event loops;
/// a class, so reading it at each request head is one retain.
public final class GatewaySettings: Sendable {
    public let routes: RouteTable
    public let trustedProxies: [IPRange]
    public let rewriter: HeaderRewriter
    public let maxHeaderCount: Int
    public let idleTimeout: Duration
    public let accessLog: Bool
    public let pages: PageRenderer
    /// `forward_auth.pass_access_token`.
    public let forwardAuthAccessToken: Bool
    /// Nil while no provider is configured: `auth: required` routes then answer 401.
    public let authenticator: (any GatewayAuthenticator)?
    public let metrics: GatewayMetrics
    /// Counters per route, by `Route.index`.
    let routeMetrics: [RouteMetrics]
    /// `server.metrics_path`: where the main listener answers with the metrics; nil = it does not.
    let metricsPath: String?
    /// The providers' names, in `providers:` order (`provider=` on the login endpoints).
    let providerNames: [String]

    public init(
        config: GatewayConfig, authenticator: (any GatewayAuthenticator)? = nil, metrics: GatewayMetrics = GatewayMetrics()
    ) throws(ConfigProblems) {
        self.routes = try RouteTable(config: config)
        self.metrics = metrics
        self.routeMetrics = config.routes.map { metrics.route(named: ($0.host ?? "") + $0.path) }
        self.metricsPath = config.server.metricsPath
        self.providerNames = config.providers.map(\.name)
        self.trustedProxies = config.server.trustedProxies.compactMap(IPRange.init)
        self.rewriter = HeaderRewriter(
            cookiePrefix: config.session?.cookieName, customIdentityHeaders: config.routes.flatMap { $0.identityHeaders.all + $0.headers.map(\.name) },
            trustedProxies: trustedProxies, dropsUnderscoreHeaders: !config.server.underscoresInHeaders)
        self.maxHeaderCount = config.server.maxHeaderCount
        self.idleTimeout = config.server.idleTimeout
        self.accessLog = config.logging.accessLog
        self.authenticator = authenticator
        self.pages = PageRenderer(template: config.server.errorPageTemplate)
        self.forwardAuthAccessToken = config.forwardAuth.passAccessToken
    }
}

/// The settings every connection reads at each request head. A reload swaps in a new value whole;
/// an exchange in flight keeps the value it started with, so it finishes on the old table.
public final class GatewaySettingsBox: Sendable {
    private let box: NIOLockedValueBox<GatewaySettings>

    public init(_ settings: GatewaySettings) {
        self.box = NIOLockedValueBox(settings)
    }

    public var current: GatewaySettings { box.withLockedValue { $0 } }

    public func replace(with settings: GatewaySettings) {
        box.withLockedValue { $0 = settings }
    }
}

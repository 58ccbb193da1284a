#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
public import CoreMetrics
public import Prometheus

/// Porteiro's Prometheus metrics (the names are listed in docs/operations.md). Handed to each part
/// explicitly instead of through `MetricsSystem.bootstrap`, so that several gateways in one test
/// process keep their own numbers. Label values come from fixed sets and the configuration, never
/// from request input, so a client cannot blow up the number of series.
public final class GatewayMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry
    let factory: PrometheusMetricsFactory
    public let loginsStarted: CoreMetrics.Counter
    public let loginsCompleted: CoreMetrics.Counter
    public let tokenRefreshes: CoreMetrics.Counter
    public let configReloads: CoreMetrics.Counter
    public let configReloadFailures: CoreMetrics.Counter
    public let openConnections: CoreMetrics.Meter
    /// Connections closed at once because `server.max_connections` were open.
    public let connectionsRefused: CoreMetrics.Counter
    /// Requests Porteiro answered itself before any route matched (health, 404, login endpoints).
    public let unrouted: RouteMetrics

    public init() {
        let registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.defaultDurationHistogramBuckets = [
            .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50),
            .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2.5), .seconds(5), .seconds(10),
        ]
        self.registry = registry
        self.factory = factory
        loginsStarted = CoreMetrics.Counter(label: "porteiro_logins_started_total", factory: factory)
        loginsCompleted = CoreMetrics.Counter(label: "porteiro_logins_completed_total", factory: factory)
        tokenRefreshes = CoreMetrics.Counter(label: "porteiro_token_refreshes_total", factory: factory)
        configReloads = CoreMetrics.Counter(label: "porteiro_config_reloads_total", factory: factory)
        configReloadFailures = CoreMetrics.Counter(label: "porteiro_config_reload_failures_total", factory: factory)
        openConnections = CoreMetrics.Meter(label: "porteiro_open_connections", factory: factory)
        connectionsRefused = CoreMetrics.Counter(label: "porteiro_connections_refused_total", factory: factory)
        unrouted = RouteMetrics(name: "-", factory: factory)
        // A restart (after a crash, say) shows as a change of this value: every connection of the
        // process was lost then. `changes(porteiro_start_time_seconds[1h]) > 0` alerts on it.
        CoreMetrics.Gauge(label: "porteiro_start_time_seconds", factory: factory).record(Int64(time(nil)))
    }

    /// The counters of one route, made when the configuration is loaded so a request pays no lookup.
    public func route(named name: String) -> RouteMetrics {
        RouteMetrics(name: name, factory: factory)
    }

    public func loginFailed(_ reason: LoginFailureReason) {
        CoreMetrics.Counter(label: "porteiro_logins_failed_total", dimensions: [("reason", reason.rawValue)], factory: factory).increment()
    }

    public func tokenRefreshFailed(_ reason: RefreshFailureReason) {
        CoreMetrics.Counter(label: "porteiro_token_refresh_failures_total", dimensions: [("reason", reason.rawValue)], factory: factory)
            .increment()
    }

    public func sessionCookieRejected(_ reason: CookieRejectionReason) {
        CoreMetrics.Counter(label: "porteiro_session_cookie_rejected_total", dimensions: [("reason", reason.rawValue)], factory: factory)
            .increment()
    }

    /// `result`: `accepted`, or why a logout token was refused.
    public func backchannelLogout(_ result: String) {
        CoreMetrics.Counter(label: "porteiro_backchannel_logouts_total", dimensions: [("result", result)], factory: factory).increment()
    }

    public func idpRequest(_ endpoint: IdPEndpoint, nanoseconds: Int64) {
        CoreMetrics.Timer(label: "porteiro_idp_request_duration_seconds", dimensions: [("endpoint", endpoint.rawValue)], factory: factory)
            .recordNanoseconds(nanoseconds)
    }

    /// The Prometheus text exposition format (version 0.0.4).
    public func exposition() -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(8 * 1024)
        registry.emit(into: &bytes)
        return bytes
    }

    public static let contentType = "text/plain; version=0.0.4; charset=utf-8"
}

public enum LoginFailureReason: String, Sendable {
    /// Missing, expired, forged or replayed login state.
    case state
    /// The IdP sent the browser back with `error=`.
    case idpError = "idp_error"
    /// The answer named another issuer (RFC 9207): a mix-up between providers.
    case mixUp = "mix_up"
    case noCode = "no_code"
    /// The token endpoint failed or could not be reached.
    case tokenEndpoint = "token_endpoint"
    /// The ID token did not verify (signature, issuer, audience, nonce, expiry).
    case idToken = "id_token"
    /// The session store (`session.store: postgres`) could not save the new session.
    case sessionStore = "session_store"
}

public enum RefreshFailureReason: String, Sendable {
    /// The IdP refused the refresh token: the session ended.
    case refused
    /// The IdP could not be reached: the session was kept as it was.
    case unreachable
}

public enum CookieRejectionReason: String, Sendable {
    /// Did not open: tampered, truncated, a missing chunk, or sealed under a retired secret.
    case unreadable
    case expired
    /// Ended by a back-channel logout from the IdP, or signed out (a copy of the cookie).
    case revoked
    /// Two different session cookies in one request: one was planted (cookie tossing).
    case conflicting
    /// The access token expired and the IdP gave no refresh token: a new login is needed.
    case tokenExpired = "token_expired"
    /// Unused longer than `session.idle_timeout`.
    case idle
}

public enum IdPEndpoint: String, Sendable {
    case discovery, jwks, token, userinfo
}

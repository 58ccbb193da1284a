import NIOHTTP1
import PorteiroRouting

/// What a request head asks for, decided from the head and the settings alone: no channel, no
/// clock, no I/O, so every branch is a unit test (`RequestDecisionTests`). `GatewayHandler` acts on
/// the result; anything that cannot be read, and any path no route serves, is answered here.
enum RequestDecision {
    /// Answer locally: a refusal, health, metrics, a redirect; `notice` is logged first.
    case answer(LocalResponse, notice: String?)
    /// One of Porteiro's `/oauth2/…` endpoints (only while login is configured).
    case endpoint(OwnEndpoint, RequestTarget, any GatewayAuthenticator)
    /// Proxy without asking who it is: an `auth: none` route, or a request a skip-auth rule lets by.
    case proxy(Route, RequestTarget)
    /// Find out who is asking, then proxy or refuse by the route's `auth` and policy.
    case authorize(Route, RequestTarget)

    enum OwnEndpoint: Equatable {
        case forwardAuth, userinfo, backchannelLogout, login(AuthEndpoint)
    }

    static let forwardAuthPath = "/oauth2/auth"
    static let userinfoPath = "/oauth2/userinfo"
    static let backchannelLogoutPath = "/oauth2/backchannel_logout"

    /// Decides `request`, filling in its log entry (host, path, route) as far as the head was read.
    static func decide(_ request: inout GatewayRequest, settings: GatewaySettings, isReady: () -> Bool) -> RequestDecision {
        let head = request.head
        let requestID = request.requestID
        func refuse(_ status: HTTPResponseStatus, _ text: PageText, headers: HTTPHeaders = [:], notice: String? = nil) -> RequestDecision {
            .answer(settings.pages.error(status, text, requestID: requestID, request: head.headers, extraHeaders: headers), notice: notice)
        }
        if let (status, message) = RequestFraming.problem(in: head, maxHeaderCount: settings.maxHeaderCount) {
            return refuse(status, message)
        }
        request.log.host = head.headers.first(name: "host")
        guard case .success(let target) = RequestTarget.parse(head.uri) else { return refuse(.badRequest, .badPath) }
        if let authority = target.authority, !RequestFraming.sameHost(authority, head.headers.first(name: "host")) {
            return refuse(.badRequest, .oneHost)
        }
        request.log.path = target.routingPath
        // Porteiro's own paths match only as written: `/oauth2/auth;x` is no `/oauth2/auth` to the
        // front proxy that keeps `/oauth2/auth` internal, so it is none here either.
        if target.hasParameters, isOwnPath(target.routingPath, settings: settings) {
            return refuse(.badRequest, .badPath)
        }
        if let own = ownPath(head, target: target, settings: settings, isReady: isReady, refuse: refuse) { return own }

        let route: Route
        switch settings.routes.lookup(host: head.headers.first(name: "host") ?? target.authority, target: target) {
        case .route(let found): route = found
        case .none: return refuse(.notFound, .noRoute)
        case .ambiguous: return refuse(.badRequest, .badPath, notice: "path read differently by different servers")
        }
        request.log.routeIndex = route.index
        if route.isDirectoryWithoutSlash(target.routingPath) {
            let location = target.routingPath + "/" + target.query
            let status: HTTPResponseStatus = head.method == .GET || head.method == .HEAD ? .movedPermanently : .permanentRedirect
            return .answer(LocalResponse(status: status, headers: ["Location": location, "Cache-Control": "no-store"], body: ""), notice: nil)
        }
        if let methods = route.methods, !methods.contains(head.method.rawValue) {
            return refuse(.methodNotAllowed, .methodNotAllowed, headers: ["Allow": methods.sorted().joined(separator: ", ")])
        }
        if route.auth == .none || route.skipsAuth(method: head.method.rawValue, target: target) {
            return .proxy(route, target)
        }
        return .authorize(route, target)
    }

    /// Health, metrics and, while login is configured, `/oauth2/…`; nil for any other path (an
    /// unknown `/oauth2/x` goes to routing like any path).
    private static func ownPath(
        _ head: HTTPRequestHead, target: RequestTarget, settings: GatewaySettings, isReady: () -> Bool,
        refuse: (HTTPResponseStatus, PageText, HTTPHeaders, String?) -> RequestDecision
    ) -> RequestDecision? {
        let path = target.routingPath
        if let health = HealthEndpoint(path: path) {
            let ready = health == .ready && isReady()
            return .answer(health.response(isReady: ready, notReady: ready ? [] : settings.authenticator?.notReady ?? []), notice: nil)
        }
        if let metricsPath = settings.metricsPath, path == metricsPath {
            return .answer(.metrics(settings.metrics), notice: nil)
        }
        guard let authenticator = settings.authenticator, path.hasPrefix("/oauth2/") else { return nil }
        switch path {
        case forwardAuthPath: return .endpoint(.forwardAuth, target, authenticator)
        case userinfoPath: return .endpoint(.userinfo, target, authenticator)
        case backchannelLogoutPath where head.method == .POST: return .endpoint(.backchannelLogout, target, authenticator)
        case backchannelLogoutPath: return refuse(.methodNotAllowed, .methodNotAllowed, ["Allow": "POST"], nil)
        case _ where path.hasPrefix(AuthEndpoint.callback.rawValue + "/"):
            return .endpoint(.login(.callback), target, authenticator)  // another provider's callback
        default: return AuthEndpoint(rawValue: path).map { .endpoint(.login($0), target, authenticator) }
        }
    }

    /// A path Porteiro answers itself: health, metrics, and `/oauth2/…` when login is configured.
    private static func isOwnPath(_ path: String, settings: GatewaySettings) -> Bool {
        HealthEndpoint(path: path) != nil || path == settings.metricsPath
            || (settings.authenticator != nil && path.hasPrefix("/oauth2/"))
    }
}

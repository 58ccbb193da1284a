import NIOHTTP1
import PorteiroConfig
@testable import PorteiroProxy
import PorteiroRouting
import Testing

/// Every branch of what a request head means, without a channel: refusals, Porteiro's own paths,
/// routing, and which routes proxy at once or authenticate first.
@Suite struct RequestDecisionTests {
    static func settings(login: Bool = true, metricsPath: String? = nil) throws -> GatewaySettings {
        let open = RouteConfig(path: "/public/", upstream: "http://app:8080", auth: .none)
        var reports = RouteConfig(path: "/reports/", upstream: "http://app:8080", auth: .required)
        reports.methods = ["GET", "HEAD"]
        var app = RouteConfig(path: "/app/", upstream: "http://app:8080", auth: .required)
        app.skipAuth = [RouteConfig.SkipAuth(path: "/app/health")]
        var config = GatewayConfig(routes: [open, reports, app])
        config.server.metricsPath = metricsPath
        return try GatewaySettings(config: config, authenticator: login ? GroupAuthenticator() : nil)
    }

    static func decide(
        _ uri: String, method: HTTPMethod = .GET, headers: HTTPHeaders = ["Host": "gw.example.org"],
        settings: GatewaySettings, isReady: Bool = true
    ) -> (RequestDecision, GatewayRequest) {
        let head = HTTPRequestHead(version: .http1_1, method: method, uri: uri, headers: headers)
        var request = GatewayRequest(head: head, requestID: "r1", log: AccessLogEntry(method: method, start: .uptimeNanoseconds(0)))
        let decision = RequestDecision.decide(&request, settings: settings) { isReady }
        return (decision, request)
    }

    static func status(_ decision: RequestDecision) -> UInt? {
        if case .answer(let response, _) = decision { return response.status.code }
        return nil
    }

    @Test(arguments: [
        ("/public/x", ["Host": "a", "Content-Length": "1, 2"], 400),  // ambiguous length
        ("/public/x", ["Host": "a", "Transfer-Encoding": "gzip"], 501),
        ("/public/x", [:], 400),  // HTTP/1.1 without Host
        ("/public/x", ["Host": "a b"], 400),
        ("/public/%zz", ["Host": "a"], 400),  // unreadable target
        ("http://other.example.org/public/x", ["Host": "gw.example.org"], 400),  // two hosts
        ("/nowhere", ["Host": "a"], 404),
        ("/oauth2/auth;x", ["Host": "a"], 400),  // own path with parameters
    ] as [(String, [String: String], UInt)])
    func refusesWhatCannotBeReadOrRouted(uri: String, headers: [String: String], status: UInt) throws {
        let (decision, _) = Self.decide(uri, headers: HTTPHeaders(headers.map { ($0.key, $0.value) }), settings: try Self.settings())
        #expect(Self.status(decision) == status)
    }

    @Test func healthAndMetricsAreAnsweredBeforeRouting() throws {
        let settings = try Self.settings(metricsPath: "/internal/metrics")
        #expect(Self.status(Self.decide("/ping", settings: settings).0) == 200)
        #expect(Self.status(Self.decide("/ready", settings: settings, isReady: false).0) == 503)
        #expect(Self.status(Self.decide("/ready", settings: settings).0) == 200)
        #expect(Self.status(Self.decide("/internal/metrics", settings: settings).0) == 200)
    }

    @Test func oauth2PathsAreEndpointsOnlyWhileLoginIsConfigured() throws {
        let settings = try Self.settings()
        func endpoint(_ method: HTTPMethod, _ uri: String) -> RequestDecision.OwnEndpoint? {
            if case .endpoint(let endpoint, _, _) = Self.decide(uri, method: method, settings: settings).0 { return endpoint }
            return nil
        }
        #expect(endpoint(.GET, "/oauth2/auth") == .forwardAuth)
        #expect(endpoint(.GET, "/oauth2/userinfo") == .userinfo)
        #expect(endpoint(.POST, "/oauth2/backchannel_logout") == .backchannelLogout)
        #expect(endpoint(.GET, "/oauth2/start?rd=/app/") == .login(.start))
        #expect(endpoint(.GET, "/oauth2/callback?code=x&state=y") == .login(.callback))
        #expect(endpoint(.GET, "/oauth2/sign_out") == .login(.signOut))
        guard case .answer(let refused, _) = Self.decide("/oauth2/backchannel_logout", method: .GET, settings: settings).0 else {
            Issue.record("GET on the back-channel logout endpoint must be refused")
            return
        }
        #expect(refused.status == .methodNotAllowed && refused.headers.first(name: "allow") == "POST")
        #expect(Self.status(Self.decide("/oauth2/other", method: .GET, settings: settings).0) == 404, "an unknown /oauth2/ path is routed")
        let withoutLogin = try Self.settings(login: false)
        #expect(Self.status(Self.decide("/oauth2/auth", method: .GET, settings: withoutLogin).0) == 404)
    }

    @Test func routesDecideBetweenProxyAndAuthorizeAndFillTheLog() throws {
        let settings = try Self.settings()
        let (publicDecision, publicRequest) = Self.decide("/public/a", settings: settings)
        guard case .proxy(let route, let target) = publicDecision else { Issue.record("auth: none must proxy at once"); return }
        #expect(route.index == 0 && target.routingPath == "/public/a")
        #expect(publicRequest.log.host == "gw.example.org" && publicRequest.log.path == "/public/a" && publicRequest.log.routeIndex == 0)
        guard case .authorize(let protected, _) = Self.decide("/app/page", settings: settings).0 else {
            Issue.record("auth: required must authenticate first")
            return
        }
        #expect(protected.index == 2)
        guard case .proxy = Self.decide("/app/health", settings: settings).0 else { Issue.record("skip-auth rule ignored"); return }
    }

    @Test func aDirectoryWithoutItsSlashIsRedirectedAndMethodsAreChecked() throws {
        let settings = try Self.settings()
        guard case .answer(let redirect, _) = Self.decide("/public?x=1", settings: settings).0 else { Issue.record("no redirect"); return }
        #expect(redirect.status == .movedPermanently && redirect.headers.first(name: "location") == "/public/?x=1")
        #expect(Self.status(Self.decide("/public", method: .POST, settings: settings).0) == 308)
        guard case .answer(let refused, _) = Self.decide("/reports/1", method: .DELETE, settings: settings).0 else {
            Issue.record("a method the route does not accept must be refused")
            return
        }
        #expect(refused.status == .methodNotAllowed && refused.headers.first(name: "allow") == "GET, HEAD")
    }
}

import PorteiroConfig
import PorteiroRouting
import Testing

@Suite struct RouteTableTests {
    let table = try! RouteTable(config: GatewayConfig(routes: [
        RouteConfig(path: "/", upstream: "http://any-root"),
        RouteConfig(path: "/static/", upstream: "http://any-static", auth: .none),
        RouteConfig(path: "/static/private/", upstream: "http://any-private"),
        RouteConfig(host: "portal.example.org", path: "/", upstream: "http://portal-root"),
        RouteConfig(host: "portal.example.org", path: "/app", upstream: "http://portal-app"),
        RouteConfig(host: "*.example.org", path: "/", upstream: "http://wild"),
        RouteConfig(host: "*.deep.example.org", path: "/x/", upstream: "http://deep-x"),
    ]))

    @Test(arguments: [
        (nil, "/", "any-root"),
        ("other.test", "/static/a.css", "any-static"),
        ("other.test", "/static/private/k", "any-private"),
        ("other.test", "/static", "any-static"),
        ("other.test", "/staticx", "any-root"),
        ("other.test", "/static/private", "any-private"),
        ("portal.example.org", "/", "portal-root"),
        ("Portal.Example.ORG:443", "/application", "portal-app"),
        ("portal.example.org.", "/app/x", "portal-app"),
        ("a.example.org", "/static/x", "wild"),
        ("a.b.example.org", "/", "wild"),
        ("q.deep.example.org", "/x/1", "deep-x"),
        ("q.deep.example.org", "/y", "wild"),
        ("example.org", "/", "any-root"),
        ("[::1]:8080", "/static/", "any-static"),
    ] as [(String?, String, String)])
    func picksHostGroupThenLongestPrefix(host: String?, path: String, upstream: String) {
        #expect(table.route(host: host, path: path)?.upstream.host == upstream)
    }

    /// A path whose `;parameters` make it `/static/…` to one server and `/…` to another is refused.
    @Test func aTargetWhoseReadingsFindDifferentRoutesIsAmbiguous() throws {
        func lookup(_ raw: String) throws -> String {
            switch table.lookup(host: "other.test", target: try RequestTarget.parse(raw).get()) {
            case .route(let route): return route.upstream.host
            case .none: return "none"
            case .ambiguous: return "ambiguous"
            }
        }
        #expect(try lookup("/x/.;/../static/a.css") == "ambiguous")
        #expect(try lookup("/static;v=2/a.css") == "ambiguous")
        #expect(try lookup("/static/a.css;v=2") == "any-static", "a parameter on the last segment reads the same")
        #expect(try lookup("/static/private/..;/k") == "ambiguous")
        #expect(try lookup("/a;x/b") == "any-root", "both readings find the catch-all")
    }

    @Test func noMatchIsNil() throws {
        let hostOnly = try RouteTable(config: GatewayConfig(routes: [
            RouteConfig(host: "a.org", path: "/app/", upstream: "http://x")
        ]))
        #expect(hostOnly.route(host: "a.org", path: "/other") == nil)
        #expect(hostOnly.route(host: "b.org", path: "/app/") == nil)
        #expect(hostOnly.route(host: nil, path: "/app/") == nil)
    }

    @Test func lookupDoesNotDependOnRouteCount() throws {
        let many = try RouteTable(config: GatewayConfig(routes: (0..<1_000).map {
            RouteConfig(host: $0 % 2 == 0 ? "h\($0).example.org" : nil, path: "/app\($0)/", upstream: "http://u\($0)")
        }))
        #expect(many.route(host: "h998.example.org", path: "/app998/x")?.upstream.host == "u998")
        #expect(many.route(host: "h998.example.org", path: "/app999/x")?.upstream.host == "u999")
        #expect(many.route(host: "zzz", path: "/app1/")?.upstream.host == "u1")
        #expect(many.route(host: "zzz", path: "/app10/")?.upstream.host == nil, "app10 is host-bound")
    }

    @Test(arguments: [
        ("/app/", true, "", "/app/x/y?q=1", "/x/y"),
        ("/app/", true, "/base", "/app/x", "/base/x"),
        ("/app", true, "", "/app", "/"),
        ("/app/", false, "/base", "/app/x", "/base/app/x"),
        ("/app/", true, "", "/app/;j=1/x", "/;j=1/x"),
    ])
    func buildsTheUpstreamPath(prefix: String, strip: Bool, base: String, request: String, expected: String) throws {
        let route = try Route(
            index: 0, config: RouteConfig(path: prefix, upstream: "http://u\(base)", stripPrefix: strip))
        #expect(route.upstreamPath(for: try RequestTarget.parse(request).get()) == expected)
    }

    @Test func summarizesTheTable() {
        let summary = RouteSummary.render(table)
        #expect(summary.hasPrefix("#  HOST"))
        #expect(summary.contains("any signed-in user"))
        #expect(summary.contains("*.deep.example.org  /x/"))
        #expect(summary.split(separator: "\n").count == 8)
    }

    @Test func summarizesProvidersExchangesAndHeaders() throws {
        var billing = RouteConfig(path: "/billing/", upstream: "http://app")
        billing.provider = "partners"
        billing.tokenExchange = RouteConfig.TokenExchange(audience: "billing", scope: "read")
        billing.headers = [TemplatedHeader(name: "X-Id", template: try HeaderTemplate.parse("{user}").get(), text: "{user}")]
        var api = RouteConfig(path: "/api/", upstream: "http://app", auth: .bearer)
        api.providers = ["gov", "partners"]
        var config = GatewayConfig(routes: [billing, api, RouteConfig(path: "/", upstream: "http://app", auth: .none)])
        config.providers = ["gov", "partners"].map { NamedProvider(name: $0, config: ProviderConfig(issuer: "https://\($0)", clientID: "c", clientSecret: nil)) }
        let lines = RouteSummary.render(try RouteTable(config: config), providerNames: ["gov", "partners"]).split(separator: "\n")
        #expect(lines[0].contains("PROVIDER") && lines[0].contains("EXCHANGE") && lines[0].contains("HEADERS"))
        #expect(lines[1].contains("partners") && lines[1].contains("aud=billing scope=read") && lines[1].contains("X-Id={user}"))
        #expect(lines[2].contains("gov,partners"))
        #expect(lines[3].split(separator: " ", omittingEmptySubsequences: true)[5] == "-", "a public route has no provider")
    }
}

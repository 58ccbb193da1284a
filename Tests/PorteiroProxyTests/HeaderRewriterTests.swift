import NIOHTTP1
import PorteiroConfig
import PorteiroProxy
import PorteiroRouting
import Testing

@Suite struct HeaderRewriterTests {
    let rewriter = HeaderRewriter(cookiePrefix: "_porteiro")
    let untrusted = HeaderRewriter.Peer(address: "192.0.2.7", isTrusted: false, isTLS: true)
    let route = try! Route(index: 0, config: RouteConfig(path: "/", upstream: "http://app:8080", auth: .none))

    func upstream(_ headers: HTTPHeaders, method: HTTPMethod = .GET, peer: HeaderRewriter.Peer? = nil, route: Route? = nil)
        -> HTTPHeaders
    {
        let head = HTTPRequestHead(version: .http1_1, method: method, uri: "/x", headers: headers)
        let target = try! RequestTarget.parse("/x").get()
        return rewriter.upstreamRequest(
            head, route: route ?? self.route, target: target, peer: peer ?? untrusted, requestID: "rid", upgrade: nil
        ).headers
    }

    @Test func dropsHopByHopHeadersAndThoseConnectionNames() {
        let out = upstream([
            "Host": "portal", "Connection": "close, X-Secret, content-length", "X-Secret": "1", "Keep-Alive": "5",
            "TE": "trailers", "Trailer": "X", "Upgrade": "h2c", "HTTP2-Settings": "AAMAAABkAAQAAP__", "Proxy-Connection": "keep-alive",
            "Proxy-Authorization": "b",
            "Content-Length": "0", "X-Kept": "yes",
        ])
        for name in [
            "connection", "x-secret", "keep-alive", "te", "trailer", "upgrade", "proxy-connection", "proxy-authorization", "http2-settings",
        ] {
            #expect(!out.contains(name: name), "\(name)")
        }
        #expect(out.first(name: "content-length") == "0", "framing cannot be dropped by naming it in Connection")
        #expect(out.first(name: "x-kept") == "yes")
    }

    @Test func replacesForwardingHeadersFromUntrustedPeers() {
        let out = upstream(["Host": "portal", "X-Forwarded-For": "6.6.6.6", "X-Forwarded-Host": "evil", "Forwarded": "for=x"])
        #expect(out["x-forwarded-for"] == ["192.0.2.7"])
        #expect(out["x-forwarded-proto"] == ["https"])
        #expect(out["x-forwarded-host"] == ["portal"])
        #expect(!out.contains(name: "forwarded"))
        #expect(out["x-request-id"] == ["rid"])
    }

    @Test func appendsForwardingHeadersFromTrustedPeers() {
        let trusted = HeaderRewriter.Peer(address: "10.0.0.2", isTrusted: true, isTLS: false)
        let out = upstream(
            ["Host": "p", "X-Forwarded-For": "203.0.113.1", "X-Forwarded-Proto": "https", "X-Forwarded-Host": "portal.org"],
            peer: trusted)
        #expect(out["x-forwarded-for"] == ["203.0.113.1, 10.0.0.2"])
        #expect(out["x-forwarded-proto"] == ["https"])
        #expect(out["x-forwarded-host"] == ["portal.org"])
    }

    @Test func stripsIdentityHeadersAndPorteiroCookies() {
        var headers: HTTPHeaders = ["Host": "p", "Cookie": "a=1; _porteiro=s; _porteiro_0=c0", "Cookie": "__Host-_porteiro_state_x=y; _porteiroish=k"]
        // Other gateways' spellings too: an app set up for Authelia or Grafana's auth proxy trusts them.
        let others = ["Remote-Email", "Remote-Groups", "Remote-Name", "X-Remote-Groups", "X-WEBAUTH-USER"]
        for name in HeaderRewriter.identityHeaders + others { headers.add(name: name, value: "spoof") }
        let out = upstream(headers)
        #expect(out["cookie"] == ["a=1; _porteiroish=k"])
        for name in HeaderRewriter.identityHeaders + others { #expect(!out.contains(name: name), "\(name)") }
        #expect(!upstream(["Host": "p", "Cookie": "_porteiro=s"]).contains(name: "cookie"))
    }

    @Test func sendsIdentityUnderConfiguredNamesAndStripsThemFromClients() throws {
        var config = RouteConfig(path: "/", upstream: "http://app")
        config.identityHeaders.user = "X-Remote-User"
        let custom = try Route(index: 0, config: config)
        let rewriter = HeaderRewriter(cookiePrefix: nil, customIdentityHeaders: ["X-Remote-User"])
        let head = HTTPRequestHead(
            version: .http1_1, method: .GET, uri: "/x",
            headers: ["Host": "p", "X-Remote-User": "spoof", "Authorization": "Basic c3Bvb2Y="])
        let user = SignedInUser(user: "maria\r\nX-Evil: 1", email: "m@example.org", groups: ["a", "b,c", " admins", "ops "], accessToken: "tok")
        let out = rewriter.upstreamRequest(
            head, route: custom, target: try RequestTarget.parse("/x").get(), peer: untrusted, requestID: "r",
            upgrade: nil, identity: user
        ).headers
        #expect(out["x-remote-user"] == [], "the client's value is gone; a user with a control character is no name to send")
        #expect(out["authorization"] == ["Bearer tok"], "the access token replaces the client's Authorization")
        #expect(out["x-forwarded-groups"] == ["a"], "a group with a comma, or padded with spaces, could not be told apart")
        #expect(!out.contains(name: "x-forwarded-user"))
    }

    @Test func fillsInTemplatedHeadersAndStripsTheirNamesFromClientsOnEveryRoute() throws {
        var config = RouteConfig(path: "/rh/", upstream: "http://app")
        config.headers = try [
            ("X-Employee-Id", "{claims.employee_number}"), ("X-Forwarded-User", "CN={user}"), ("X-Missing", "{claims.nope}"),
            ("X-Id-Token", "{id_token}"), ("X-Subject", "{subject}"),
        ].map { TemplatedHeader(name: $0.0, template: try HeaderTemplate.parse($0.1).get(), text: $0.1) }
        let templated = try Route(index: 0, config: config)
        let rewriter = HeaderRewriter(cookiePrefix: nil, customIdentityHeaders: config.headers.map(\.name))
        let user = SignedInUser(
            user: "maria", email: "m@example.org", groups: [], claims: ["employee_number": ["1234"]], accessToken: "tok",
            subject: "f3a1", idToken: "id.tok.en")
        let spoofed: HTTPHeaders = ["Host": "p", "X-Employee-Id": "1", "X_Employee_Id": "1", "X-Missing": "spoof", "X-Subject": "root"]
        let signedIn = rewriter.upstreamRequest(
            HTTPRequestHead(version: .http1_1, method: .GET, uri: "/rh/", headers: spoofed), route: templated,
            target: try RequestTarget.parse("/rh/").get(), peer: untrusted, requestID: "r", upgrade: nil, identity: user
        ).headers
        #expect(signedIn["x-employee-id"] == ["1234"], "the client's values, in either spelling, are gone")
        #expect(signedIn["x-forwarded-user"] == ["CN=maria"], "a template replaces the fixed header of its name")
        #expect(!signedIn.contains(name: "x-missing"), "a missing claim omits the header; the client's is gone too")
        #expect(signedIn["x-id-token"] == ["id.tok.en"])
        #expect(signedIn["x-subject"] == ["f3a1"])
        // On a public route, which fills in nothing, the names are still the gateway's.
        let anonymous = rewriter.upstreamRequest(
            HTTPRequestHead(version: .http1_1, method: .GET, uri: "/x", headers: spoofed), route: route,
            target: try RequestTarget.parse("/x").get(), peer: untrusted, requestID: "r", upgrade: nil
        ).headers
        for name in ["x-employee-id", "x_employee_id", "x-missing", "x-subject"] { #expect(!anonymous.contains(name: name), "\(name)") }
    }

    @Test func keepsOrSetsHostAndReframesChunkedBodies() throws {
        let upstreamHost = try Route(index: 0, config: RouteConfig(path: "/", upstream: "http://app:8080", preserveHost: false))
        #expect(upstream(["Host": "portal"])["host"] == ["portal"])
        #expect(upstream(["Host": "portal"], route: upstreamHost)["host"] == ["app:8080"])
        let chunked = upstream(["Host": "p", "Transfer-Encoding": "chunked", "Expect": "100-continue"], method: .POST)
        #expect(chunked["transfer-encoding"] == ["chunked"])
        #expect(!chunked.contains(name: "expect"), "Porteiro answers 100-continue itself")
    }

    @Test func keepsUpgradeHeadersOnlyForUpgrades() {
        let head = HTTPRequestHead(
            version: .http1_1, method: .GET, uri: "/ws",
            headers: ["Host": "p", "Connection": "Upgrade", "Upgrade": "websocket", "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
                      "Sec-WebSocket-Version": "13"])
        let target = try! RequestTarget.parse("/ws").get()
        let out = rewriter.upstreamRequest(head, route: route, target: target, peer: untrusted, requestID: "r", upgrade: WebSocketUpgrade(head))
        #expect(out.headers["connection"] == ["upgrade"])
        #expect(out.headers["upgrade"] == ["websocket"])
        #expect(out.headers["sec-websocket-key"] == ["dGhlIHNhbXBsZSBub25jZQ=="])
        let plain = rewriter.upstreamRequest(head, route: route, target: target, peer: untrusted, requestID: "r", upgrade: nil)
        #expect(!plain.headers.contains(name: "upgrade") && !plain.headers.contains(name: "connection"))
    }

    @Test func cleansResponses() {
        let head = HTTPResponseHead(
            version: .http1_0, status: .ok,
            headers: ["Connection": "keep-alive, X-Hop", "X-Hop": "1", "Transfer-Encoding": "chunked", "Content-Type": "text/html",
                      "X-Request-Id": "the-apps-own"])
        let out = rewriter.clientResponse(head, clientKeepAlive: false, requestID: "rid")
        #expect(out.version == .http1_1)
        #expect(out.headers["connection"] == ["close"])
        #expect(!out.headers.contains(name: "x-hop"))
        #expect(!out.headers.contains(name: "transfer-encoding"), "NIO's encoder frames the body for the client")
        #expect(out.headers["x-request-id"] == ["rid"], "Porteiro's id, not the app's")
        let switching = HTTPResponseHead(version: .http1_1, status: .switchingProtocols, headers: ["Connection": "Upgrade", "Upgrade": "websocket"])
        let upgraded = rewriter.clientResponse(switching, clientKeepAlive: true, requestID: "r").headers
        #expect(upgraded["connection"] == ["upgrade"] && upgraded["upgrade"] == ["websocket"])
    }
}

import NIOCore
import NIOHTTP1
import NIOPosix
import PorteiroConfig
import PorteiroServer
import Testing

/// Upstream faults, hostile requests and shutdown: each gets a clear answer, never a crash, and the
/// next request works.
@Suite struct ProxyFailureTests {
    @Test func unreachableUpstreamIs502WithRequestIDInPageAndLog() async throws {
        let routes = [RouteConfig(path: "/", upstream: "http://127.0.0.1:1", auth: .none)]
        try await withGateway(routes: routes) { gateway, log in
            try await TestHTTPConnection.with(port: gateway.port) { client async throws in
                let page = try await client.request(.GET, "/", headers: ["Accept": "text/html"])
                #expect(page.status == 502)
                let requestID = try #require(page.header("x-request-id"))
                #expect(page.text.contains(requestID))
                #expect(page.header("content-type")?.hasPrefix("text/html") == true)
                #expect(log.contains("request_id=\(requestID)"))
                let json = try await client.request(.GET, "/", headers: ["Accept": "application/json"])
                #expect(json.status == 502)
                #expect(json.text.hasPrefix(#"{"error":"Bad Gateway","status":502"#))
            }
        }
    }

    @Test func slowUpstreamIs504AndTheNextRequestWorks() async throws {
        let upstream = try await TestUpstream.start()
        defer { Task { await upstream.stop() } }
        let routes = [RouteConfig(path: "/", upstream: upstream.url, auth: .none, timeout: .milliseconds(200))]
        try await withGateway(routes: routes) { gateway, _ in
            try await TestHTTPConnection.with(port: gateway.port) { client async throws in
                #expect(try await client.request(.GET, "/slow?ms=3000").status == 504)
            }
            try await TestHTTPConnection.with(port: gateway.port) { next async throws in
                #expect(try await next.request(.GET, "/slow?ms=10").text == "slow")
            }
        }
    }

    @Test func upstreamHangingUpWithoutAnswerIs502() async throws {
        let upstream = try await TestUpstream.start()
        defer { Task { await upstream.stop() } }
        try await withGateway(routes: [RouteConfig(path: "/", upstream: upstream.url, auth: .none)]) { gateway, _ in
            try await TestHTTPConnection.with(port: gateway.port) { client async throws in
                #expect(try await client.request(.POST, "/close", body: ByteBuffer(string: "x")).status == 502)
            }
            try await TestHTTPConnection.with(port: gateway.port) { next async throws in
                #expect(try await next.request(.GET, "/echo").status == 200)
            }
        }
    }

    @Test func survivesUpstreamClosingPooledConnections() async throws {
        let upstream = try await TestUpstream.start()
        defer { Task { await upstream.stop() } }
        let routes = [RouteConfig(path: "/", upstream: upstream.url, auth: .none, timeout: .seconds(5))]
        try await withGateway(routes: routes) { gateway, _ in
            try await TestHTTPConnection.with(port: gateway.port) { client async throws in
                #expect(try await client.request(.GET, "/echo").status == 200)
                await upstream.closeAllConnections()
                for _ in 0..<3 {
                    #expect(try await client.request(.GET, "/echo").status == 200)
                }
            }
        }
    }

    @Test(arguments: [
        ("GET /x HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", "400"),
        ("GET /x HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", "400"),
        ("GET /x HTTP/1.1\r\n\r\n", "400"),
        ("POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 30\r\n\r\nabc", "400"),
        ("GET /x HTTP/1.1\r\nHost: a\r\nX-Folded: a\r\n b\r\n\r\n", "400"),
        ("GET /x HTTP/1.1\nHost: a\n\n", "400"),
        ("GET /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", "501"),
        ("GET /a/..%2f..%2fetc HTTP/1.1\r\nHost: a\r\n\r\n", "400"),
        ("GET /a\\..\\b HTTP/1.1\r\nHost: a\r\n\r\n", "400"),
        ("GET nope HTTP/1.1\r\nHost: a\r\n\r\n", "400"),
        ("GET /x HTTP/1.1\r\nHost: a\r\nX: \(String(repeating: "y", count: 40_000))\r\n\r\n", "431"),
        ("GET /x HTTP/1.1\r\nHost: a\r\n" + (0..<150).map { "X-\($0): 1\r\n" }.joined() + "\r\n", "431"),
        ("BROKEN\r\n\r\n", "400"),
    ])
    func refusesAmbiguousOrOversizedRequests(request: String, status: String) async throws {
        let upstream = try await TestUpstream.start()
        defer { Task { await upstream.stop() } }
        try await withGateway(routes: [RouteConfig(path: "/", upstream: upstream.url, auth: .none)]) { gateway, _ in
            try await RawConnection.with(port: gateway.port) { raw async throws in
                try await raw.send(request)
                let answer = try await raw.read(until: "\r\n")
                #expect(answer.hasPrefix("HTTP/1.1 \(status)"))
            }
            #expect(upstream.connectionsAccepted == 0, "nothing ambiguous reaches the upstream")
            try await TestHTTPConnection.with(port: gateway.port) { next async throws in
                #expect(try await next.request(.GET, "/ping").status == 200)
            }
        }
    }

    @Test func answersNoRouteWith404AndHealthEndpointsEverywhere() async throws {
        let routes = [RouteConfig(host: "only.example.org", path: "/", upstream: "http://127.0.0.1:1", auth: .none)]
        try await withGateway(routes: routes) { gateway, _ in
            try await TestHTTPConnection.with(port: gateway.port) { client async throws in
                #expect(try await client.request(.GET, "/anything").status == 404)
                #expect(try await client.request(.GET, "/ping").text == "OK\n")
                #expect(try await client.request(.GET, "/ready").text == "READY\n")
            }
        }
    }

    @Test func closesIdleClientsAndSlowHeaders() async throws {
        let routes = [RouteConfig(path: "/", upstream: "http://127.0.0.1:1", auth: .none)]
        try await withGateway(routes: routes, configure: { $0.server.idleTimeout = .seconds(1) }) { gateway, _ in
            try await RawConnection.with(port: gateway.port) { raw async throws in
                do {
                    try await raw.send("GET /ping HTTP/1.1\r\nHo")
                } catch ChannelError.ioOnClosedChannel {
                    // A loaded machine took longer than the idle timeout to send: already cut off.
                }
                #expect(try await raw.readToEnd().isEmpty, "a head that never completes is cut off")
            }
        }
    }

    @Test func gracefulShutdownFinishesInFlightRequests() async throws {
        let upstream = try await TestUpstream.start()
        defer { Task { await upstream.stop() } }
        var config = GatewayConfig(routes: [RouteConfig(path: "/", upstream: upstream.url, auth: .none)])
        config.server.listen = "127.0.0.1:0"
        let recorder = LogRecorder()
        let gateway = try await GatewayServer.start(config: config, group: MultiThreadedEventLoopGroup.singleton, logger: recorder.logger)
        try await TestHTTPConnection.with(port: gateway.port) { client async throws in
            try await client.send(.GET, "/slow?ms=500", body: [])
            // In flight once the gateway has connected upstream for it (polled, not timed: a
            // loaded machine may take longer to read the request).
            for _ in 0..<500 where upstream.connectionsAccepted == 0 { try await Task.sleep(for: .milliseconds(20)) }
            #expect(upstream.connectionsAccepted == 1)
            async let drained: Void = gateway.shutdown()
            #expect(try await client.readResponse().text == "slow", "the in-flight request completes")
            await drained
            #expect(!gateway.readiness.isReady)
            await #expect(throws: (any Error).self, "the listener is closed") {
                try await TestHTTPConnection.with(port: gateway.port) { _ in }
            }
        }
    }
}

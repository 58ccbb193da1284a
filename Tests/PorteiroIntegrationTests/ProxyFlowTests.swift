import NIOCore
import NIOHTTP1
import PorteiroConfig
import Testing

/// The data path over real sockets: a real upstream, a real gateway, a real client.
@Suite struct ProxyFlowTests {
    @Test func proxiesRequestsOverPooledKeepAliveConnections() async throws {
        let upstream = try await TestUpstream.start()
        defer { Task { await upstream.stop() } }
        try await withGateway(routes: [RouteConfig(path: "/", upstream: upstream.url, auth: .none)]) { gateway, log in
            try await TestHTTPConnection.with(port: gateway.port) { client async throws in
                for _ in 0..<5 {
                    let response = try await client.request(.GET, "/echo?x=1")
                    #expect(response.status == 200)
                    #expect(response.text.hasPrefix("GET /echo?x=1\n"))
                }
            }
            #expect(upstream.connectionsAccepted == 1, "five requests should share one pooled upstream connection")
            #expect(log.contains("path=/echo "), "access log names the path")
            #expect(!log.contains("x=1"), "access log must not carry the query string")
        }
    }

    /// The access log writes the normalized path: never an absolute-form target's userinfo, nor a
    /// `;parameter` (`;jsessionid=`, `;token=`), nor the query.
    @Test func theAccessLogNeverCarriesCredentialsFromTheTarget() async throws {
        let upstream = try await TestUpstream.start()
        defer { Task { await upstream.stop() } }
        try await withGateway(routes: [RouteConfig(path: "/", upstream: upstream.url, auth: .none)]) { gateway, log in
            try await TestHTTPConnection.with(port: gateway.port) { client async throws in
                _ = try await client.request(.GET, "/echo;token=PATHSECRET?q=QUERYSECRET")
                _ = try await client.request(.GET, "http://user:USERSECRET@127.0.0.1:\(gateway.port)/echo")
            }
            #expect(log.contains("path=/echo "))
            for secret in ["PATHSECRET", "QUERYSECRET", "USERSECRET"] { #expect(!log.contains(secret), "\(secret)") }
        }
    }

    @Test func rewritesHeadersForTheUpstream() async throws {
        let upstream = try await TestUpstream.start()
        defer { Task { await upstream.stop() } }
        let routes = [RouteConfig(path: "/", upstream: upstream.url, auth: .none)]
        try await withGateway(routes: routes, configure: { $0.session = SessionConfig(secrets: []) }) { gateway, log in
            let headers: HTTPHeaders = [
                "Host": "portal.example.org", "Connection": "keep-alive, X-Drop-Me", "X-Drop-Me": "1",
                "Keep-Alive": "timeout=5", "Proxy-Authorization": "Basic c2VjcmV0", "TE": "trailers",
                "X-Forwarded-User": "admin", "X-Forwarded-Email": "boss@example.org", "X-Original-URL": "/admin",
                "X-Forwarded-For": "6.6.6.6", "X-Forwarded-Proto": "https", "Forwarded": "for=6.6.6.6",
                "Cookie": "_porteiro=sealed-session; app=kept; _porteiro_1=chunk; __Host-_porteiro=x",
                "Authorization": "Basic YXBwOnNlY3JldA==",
            ]
            let echo = try await TestHTTPConnection.with(port: gateway.port) { client async throws in
                try await client.request(.GET, "/echo", headers: headers).text
            }
            #expect(echo.contains("host: portal.example.org\n"), "client Host is kept by default")
            #expect(echo.contains("x-forwarded-for: 127.0.0.1\n"), "untrusted X-Forwarded-For is replaced")
            #expect(echo.contains("x-forwarded-proto: http\n"))
            #expect(echo.contains("x-forwarded-host: portal.example.org\n"))
            #expect(echo.contains("x-request-id: "))
            #expect(echo.contains("cookie: app=kept\n"), "Porteiro's cookies never reach the upstream")
            for gone in ["x-drop-me", "keep-alive", "proxy-authorization", "te:", "x-forwarded-user", "x-forwarded-email",
                         "x-original-url", "forwarded:", "6.6.6.6", "sealed-session", "authorization:"] {
                #expect(!echo.contains(gone), "\(gone) must not reach the upstream")
            }
            #expect(!log.contains("sealed-session") && !log.contains("YXBwOnNlY3JldA"), "no cookie or credential in logs")
        }
    }

    @Test func believesForwardingHeadersOnlyFromTrustedProxies() async throws {
        let upstream = try await TestUpstream.start()
        defer { Task { await upstream.stop() } }
        let routes = [RouteConfig(path: "/", upstream: upstream.url, auth: .none, preserveHost: false)]
        try await withGateway(routes: routes, configure: { $0.server.trustedProxies = ["127.0.0.0/8"] }) { gateway, _ in
            let echo = try await TestHTTPConnection.with(port: gateway.port) { client async throws in
                try await client.request(
                    .GET, "/echo", headers: ["X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https"]
                ).text
            }
            #expect(echo.contains("x-forwarded-for: 203.0.113.9, 127.0.0.1\n"))
            #expect(echo.contains("x-forwarded-proto: https\n"))
            #expect(echo.contains("host: 127.0.0.1:\(upstream.port)\n"), "preserve_host: false sends the upstream's host")
        }
    }

    @Test func routesByHostAndLongestPrefixAndStripsPrefix() async throws {
        let upstream = try await TestUpstream.start()
        defer { Task { await upstream.stop() } }
        let routes = [
            RouteConfig(path: "/", upstream: upstream.url, auth: .none),
            RouteConfig(path: "/app/", upstream: upstream.url + "/base", auth: .none, stripPrefix: true),
            RouteConfig(host: "*.example.org", path: "/", upstream: upstream.url, auth: .required),
        ]
        try await withGateway(routes: routes) { gateway, _ in
            try await TestHTTPConnection.with(port: gateway.port) { client async throws in
                let stripped = try await client.request(.GET, "/app/echo?q=1").text
                #expect(stripped.hasPrefix("GET /base/echo?q=1\n"))
                let normalized = try await client.request(.GET, "/x/%2e%2e/app/./echo").text
                #expect(normalized.hasPrefix("GET /base/echo\n"), "the forwarded path is the path that was routed")
                let wildcard = try await client.request(.GET, "/echo", headers: ["Host": "A.Example.ORG:443"])
                #expect(wildcard.status == 401)
                #expect(wildcard.header("www-authenticate")?.hasPrefix("Bearer") == true)
            }
        }
    }

    @Test func streamsLargeBodiesBothWays() async throws {
        let upstream = try await TestUpstream.start()
        defer { Task { await upstream.stop() } }
        let size = 64 * 1024 * 1024
        try await withGateway(routes: [RouteConfig(path: "/", upstream: upstream.url, auth: .none)]) { gateway, _ in
            try await TestHTTPConnection.with(port: gateway.port) { client async throws in
                let chunked = [patternBuffer(offset: 0, length: 1000), patternBuffer(offset: 1000, length: 24)]
                try await client.send(.POST, "/upload", headers: ["Transfer-Encoding": "chunked"], body: chunked)
                #expect(try await client.readResponse().text == "received 1024 intact", "chunked request bodies pass")
                let chunk = 256 * 1024
                let headers: HTTPHeaders = ["Content-Length": "\(size)"]
                try await TestHTTPConnection.with(port: gateway.port) { upload async throws in
                    try await upload.send(
                        .POST, "/upload", headers: headers,
                        body: stride(from: 0, to: size, by: chunk).map { patternBuffer(offset: $0, length: chunk) })
                    #expect(try await upload.readResponse().text == "received \(size) intact")
                }

                try await client.send(.GET, "/download?bytes=\(size)", body: [])
                var intact = true
                let (head, received) = try await client.readStreamedResponse { buffer, offset in
                    intact = intact && matchesPattern(buffer, offset: offset)
                }
                #expect(head.status == .ok)
                #expect(received == size)
                #expect(intact)
            }
        }
    }

    @Test func passesChunkedResponsesHeadAndExpectContinue() async throws {
        let upstream = try await TestUpstream.start()
        defer { Task { await upstream.stop() } }
        try await withGateway(routes: [RouteConfig(path: "/", upstream: upstream.url, auth: .none)]) { gateway, _ in
            try await TestHTTPConnection.with(port: gateway.port) { client async throws in
                #expect(try await client.request(.GET, "/chunked").text == "one two three")
                let head = try await client.request(.HEAD, "/download?bytes=1000")
                #expect(head.header("content-length") == "1000")
                #expect(head.body.readableBytes == 0)
                #expect(try await client.request(.GET, "/echo").status == 200, "the connection survives a HEAD")
            }

            try await RawConnection.with(port: gateway.port) { raw async throws in
                try await raw.send("POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n")
                #expect(try await raw.read(until: "\r\n\r\n").hasPrefix("HTTP/1.1 100 Continue"))
                try await raw.send(patternBuffer(offset: 0, length: 5).readableBytesView.map { $0 })
                #expect(try await raw.read(until: "received 5 intact").contains("HTTP/1.1 200 OK"))
            }
        }
    }

    @Test func answersPipelinedRequestsInOrder() async throws {
        let upstream = try await TestUpstream.start()
        defer { Task { await upstream.stop() } }
        try await withGateway(routes: [RouteConfig(path: "/", upstream: upstream.url, auth: .none)]) { gateway, _ in
            try await RawConnection.with(port: gateway.port) { raw async throws in
                try await raw.send(
                    "GET /slow?ms=100 HTTP/1.1\r\nHost: x\r\n\r\nGET /ping HTTP/1.1\r\nHost: x\r\n\r\nGET /echo HTTP/1.1\r\nHost: x\r\n\r\n")
                let text = try await raw.read(until: "body-bytes: 0")
                let slow = try #require(text.range(of: "slow"))
                let ping = try #require(text.range(of: "OK\n"))
                #expect(slow.lowerBound < ping.lowerBound)
            }
        }
    }

    @Test func tunnelsWebSockets() async throws {
        let upstream = try await TestUpstream.start()
        defer { Task { await upstream.stop() } }
        try await withGateway(routes: [RouteConfig(path: "/", upstream: upstream.url, auth: .none)]) { gateway, _ in
            try await RawConnection.with(port: gateway.port) { raw async throws in
                try await raw.send(
                    "GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
                        + "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n")
                let handshake = try await raw.read(until: "\r\n\r\n")
                #expect(handshake.hasPrefix("HTTP/1.1 101"))
                #expect(handshake.contains("s3pPLMBiTxaQ9kYGzzhZRbK+xOo="), "RFC 6455 accept key for the sample nonce")
                for message in ["hello", "olá, porteiro"] {
                    try await raw.send(maskedTextFrame(message))
                    let payload = Array(message.utf8)
                    let frame = try await raw.readBytes(2 + payload.count)
                    #expect(frame[0] == 0x81)
                    #expect(Int(frame[1]) == payload.count)
                    #expect(Array(frame[2...]) == payload)
                }
            }
        }
    }

    /// A client-to-server text frame (RFC 6455 §5.2), masked as clients must.
    private func maskedTextFrame(_ text: String) -> [UInt8] {
        let payload = Array(text.utf8)
        let mask: [UInt8] = [0x12, 0x34, 0x56, 0x78]
        return [0x81, 0x80 | UInt8(payload.count)] + mask + payload.enumerated().map { $1 ^ mask[$0 % 4] }
    }
}

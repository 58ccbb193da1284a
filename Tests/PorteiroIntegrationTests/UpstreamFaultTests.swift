import NIOCore
import PorteiroConfig
import PorteiroServer
import Testing

/// An upstream that breaks HTTP: each fault gets the right answer and a log line, the gateway lets
/// go of the broken connection, and once the upstream behaves again so does every answer.
@Suite struct UpstreamFaultTests {
    static let healthy = ScriptedUpstream.Script(reply: "HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\nhealthy")

    /// The head and part of the body are already with the client when the upstream resets: the
    /// only honest signal left is to cut the client's connection short, never to pad the body.
    @Test func upstreamResetMidBodyCutsTheResponseShortAndTheNextRequestWorks() async throws {
        let head = "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n"
        let upstream = try await ScriptedUpstream.start(.init(reply: head + String(repeating: "x", count: 100), reset: true))
        defer { Task { await upstream.stop() } }
        try await withGateway(routes: [RouteConfig(path: "/", upstream: upstream.url, auth: .none)]) { gateway, log in
            let received = try await RawConnection.with(port: gateway.port) { raw async throws in
                try await raw.send("GET /download HTTP/1.1\r\nHost: app\r\n\r\n")
                return try await raw.readToEnd()
            }
            #expect(received.hasPrefix("HTTP/1.1 200 OK\r\n"))
            let body = received.components(separatedBy: "\r\n\r\n").dropFirst().joined()
            #expect(body.count < 1000, "the client sees a short body and a closed connection, never a padded one")
            #expect(log.contains("upstream closed mid-response"), "\(log.all)")
            await expectEventually { upstream.openConnections == 0 }
            upstream.script.withLockedValue { $0 = Self.healthy }
            try await TestHTTPConnection.with(port: gateway.port) { next async throws in
                #expect(try await next.request(.GET, "/again").text == "healthy")
            }
        }
    }

    @Test(arguments: [
        "HTTP/1.1 2OO OK\r\n\r\n",
        "garbage\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 7\r\n\r\nhello",
        "HTTP/1.1 200 OK\r\nBad Header: x\r\nContent-Length: 2\r\n\r\nok",
        "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
    ])
    func invalidHTTPFromTheUpstreamIs502(reply: String) async throws {
        let upstream = try await ScriptedUpstream.start(.init(reply: reply))
        defer { Task { await upstream.stop() } }
        try await withGateway(routes: [RouteConfig(path: "/", upstream: upstream.url, auth: .none)]) { gateway, log in
            try await TestHTTPConnection.with(port: gateway.port) { client async throws in
                let page = try await client.request(.GET, "/", headers: ["Accept": "text/html"])
                #expect(page.status == 502)
                let requestID = try #require(page.header("x-request-id"))
                #expect(log.all.contains { $0.contains("upstream") && $0.contains("request_id=\(requestID)") }, "\(log.all)")
                upstream.script.withLockedValue { $0 = Self.healthy }
                #expect(try await client.request(.GET, "/").text == "healthy", "the same client connection recovers")
            }
            await expectEventually { upstream.openConnections <= 1 }
        }
    }
}

/// Polls `condition` for up to two seconds: for effects that follow a close asynchronously.
func expectEventually(_ comment: Comment? = nil, sourceLocation: SourceLocation = #_sourceLocation, _ condition: () -> Bool) async {
    for _ in 0..<200 where !condition() {
        try? await Task.sleep(for: .milliseconds(10))
    }
    #expect(condition(), comment, sourceLocation: sourceLocation)
}

import Foundation
import Logging
import NIOHTTP1
import PorteiroConfig
import PorteiroServer
import Testing

/// `/metrics` parsed as Prometheus reads it; request ids; the access-log line formats.
@Suite struct ObservabilityTests {
    @Test func metricsCountRequestsByRouteAndStatusClassOnBothListeners() async throws {
        let upstream = try await TestUpstream.start()
        defer { Task { await upstream.stop() } }
        let routes = [RouteConfig(path: "/a/", upstream: upstream.url, auth: .none)]
        try await withGateway(routes: routes, configure: {
            $0.server.metricsPath = "/metrics"
            $0.server.metricsListen = "127.0.0.1:0"
        }) { server, _ in
            let before = try await Exposition.scrape(port: server.port)
            try await TestHTTPConnection.with(port: server.port) { client async throws in
                for _ in 0..<3 { #expect(try await client.request(.GET, "/a/echo").status == 200) }
                #expect(try await client.request(.GET, "/nowhere").status == 404)
            }
            let after = try await Exposition.scrape(port: server.port)
            let ok = #"porteiro_requests_total{route="/a/",status="2xx"}"#
            let unrouted = #"porteiro_requests_total{route="-",status="4xx"}"#
            #expect(after[ok, default: 0] - before[ok, default: 0] == 3)
            #expect(after[unrouted, default: 0] - before[unrouted, default: 0] == 1)
            #expect(after[#"porteiro_upstream_response_seconds_count{route="/a/"}"#] == 3)
            #expect(after["porteiro_open_connections", default: 0] >= 1, "the scraping connection is open")

            let separate = try await Exposition.scrape(port: server.metricsAddress!.port!)
            #expect(separate[ok] == 3, "the metrics listener shows the same registry")
            try await TestHTTPConnection.with(port: server.metricsAddress!.port!) { client async throws in
                #expect(try await client.request(.GET, "/a/echo").status == 404, "the metrics listener proxies nothing")
                #expect(try await client.request(.GET, "/ready").status == 200)
            }
        }
    }

    @Test func metricsAreNotServedOnTheMainListenerUnlessAsked() async throws {
        try await withGateway(routes: []) { server, _ in
            try await TestHTTPConnection.with(port: server.port) { client async throws in
                #expect(try await client.request(.GET, "/metrics").status == 404)
            }
        }
    }

    @Test func configReloadsAreCounted() async throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("porteiro-metrics-\(UUID()).yaml")
        defer { try? FileManager.default.removeItem(at: file) }
        let valid = "server: { listen: \"127.0.0.1:0\", metrics_path: /metrics }\nroutes: []\n"
        try valid.write(to: file, atomically: true, encoding: .utf8)
        let recorder = LogRecorder()
        let server = try await GatewayServer.start(
            config: try ConfigLoader().load(yaml: valid), group: .singletonMultiThreadedEventLoopGroup, logger: recorder.logger)
        let reloader = ConfigReloader(path: file.path, loadedText: valid, server: server, logger: recorder.logger)
        #expect(reloader.reload(reason: "test"))
        try "routes: [{ upstream: \"ftp://x\" }]\n".write(to: file, atomically: true, encoding: .utf8)
        #expect(!reloader.reload(reason: "test"))
        let metrics = try await Exposition.scrape(port: server.port)
        #expect(metrics["porteiro_config_reloads_total"] == 1)
        #expect(metrics["porteiro_config_reload_failures_total"] == 1)
        await server.shutdown()
    }

    @Test func requestIDIsKeptOnlyFromTrustedProxies() async throws {
        let upstream = try await TestUpstream.start()
        defer { Task { await upstream.stop() } }
        let routes = [RouteConfig(path: "/", upstream: upstream.url, auth: .none)]
        for (trusted, sent, kept) in [(true, "edge-4711", true), (false, "edge-4711", false), (true, "has space", false), (true, String(repeating: "a", count: 129), false)] {
            try await withGateway(routes: routes, configure: { $0.server.trustedProxies = trusted ? ["127.0.0.1"] : [] }) { server, log in
                let response = try await TestHTTPConnection.with(port: server.port) { client async throws in
                    try await client.request(.GET, "/echo", headers: ["X-Request-Id": sent])
                }
                let id = try #require(response.header("x-request-id"))
                #expect((id == sent) == kept, "trusted \(trusted), sent \(sent), got \(id)")
                #expect(response.text.lowercased().contains("x-request-id: \(id.lowercased())"), "the app gets the same id")
                #expect(log.contains("request_id=\(id)"), "the access log names it")
            }
        }
    }

    @Test(arguments: [LoggingConfig.Format.logfmt, .json])
    func logLinesEscapeWhatARequestCanCarry(format: LoggingConfig.Format) throws {
        let line = LineLogHandler.line(
            time: Date(timeIntervalSince1970: 0), level: .info, message: "request",
            metadata: ["path": "/a b\n level=error msg=\"forged\"", "status": "200"], format: format)
        #expect(line.hasSuffix("\n") && line.dropLast().contains("\n") == false, "one event, one line: \(line)")
        // What some readers also break lines on, from an IdP's user name (the third red team).
        let name = LineLogHandler.line(
            time: Date(timeIntervalSince1970: 0), level: .info, message: "m", metadata: ["user": "a\u{85}b\u{2028}c\u{7f}d"], format: format)
        #expect(!name.unicodeScalars.contains { [0x85, 0x2028, 0x7f].contains($0.value) }, "escaped: \(name)")
        switch format {
        case .logfmt:
            #expect(line == #"time=1970-01-01T00:00:00Z level=info msg=request path="/a b\n level=error msg=\"forged\"" status=200"# + "\n")
        case .json:
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: String]
            #expect(object?["path"] == "/a b\n level=error msg=\"forged\"")
            #expect(object?["level"] == "info" && object?["status"] == "200")
        }
    }
}

/// A Prometheus text exposition as `series → value`, e.g. `name{label="v"}` → 3.
enum Exposition {
    static func scrape(port: Int) async throws -> [String: Double] {
        let response = try await TestHTTPConnection.with(port: port) { try await $0.request(.GET, "/metrics") }
        #expect(response.status == 200)
        #expect(response.header("content-type")?.hasPrefix("text/plain; version=0.0.4") == true)
        return parse(response.text)
    }

    static func parse(_ text: String) -> [String: Double] {
        var series: [String: Double] = [:]
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else { continue }
            series[String(line[..<space])] = value
        }
        return series
    }
}

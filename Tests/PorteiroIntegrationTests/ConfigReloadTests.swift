import Foundation
import NIOConcurrencyHelpers
import NIOPosix
import PorteiroConfig
import PorteiroServer
import Testing

/// Live reload under load: no failed request, the new route live quickly, an invalid edit refused.
@Suite struct ConfigReloadTests {
    @Test func reloadsRoutesUnderLoadAndRefusesInvalidEdits() async throws {
        let upstream = try await TestUpstream.start()
        defer { Task { await upstream.stop() } }
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("porteiro-reload-\(UUID()).yaml")
        defer { try? FileManager.default.removeItem(at: file) }
        func write(_ routes: String) throws {
            try "server: { listen: \"127.0.0.1:0\", config_poll_interval: 100ms }\nroutes:\n\(routes)".write(to: file, atomically: true, encoding: .utf8)
        }
        let echo = "  - { path: /a/, upstream: \"\(upstream.url)\", auth: none }\n"
        try write(echo)
        let recorder = LogRecorder()
        let loadedText = try String(contentsOf: file, encoding: .utf8)
        let config = try ConfigLoader().load(yaml: loadedText)
        let server = try await GatewayServer.start(config: config, group: MultiThreadedEventLoopGroup.singleton, logger: recorder.logger)
        let reloader = ConfigReloader(path: file.path, loadedText: loadedText, server: server, logger: recorder.logger)
        let watching = Task { await reloader.run(pollInterval: .milliseconds(100), signals: false) }

        let failures = NIOLockedValueBox(0)
        let requests = NIOLockedValueBox(0)
        let stop = NIOLockedValueBox(false)
        let load = Task {
            try await TestHTTPConnection.with(port: server.port) { client async throws in
                while !stop.withLockedValue({ $0 }) {
                    let status = try await client.request(.GET, "/a/echo").status
                    requests.withLockedValue { $0 += 1 }
                    if status != 200 { failures.withLockedValue { $0 += 1 } }
                }
            }
        }

        /// Waits (bounded, not timed) until the load loop has made more requests than `count`.
        func loadPassed(_ count: Int) async throws -> Bool {
            for _ in 0..<500 where requests.withLockedValue({ $0 }) <= count {
                try await Task.sleep(for: .milliseconds(20))
            }
            return requests.withLockedValue { $0 } > count
        }
        #expect(try await loadPassed(3), "the load loop ran before the reload")

        let beforeReload = requests.withLockedValue { $0 }
        try write(echo + "  - { path: /b/, upstream: \"\(upstream.url)\", auth: none }\n")
        let clock = ContinuousClock()
        let changed = clock.now
        var live = false
        while !live, changed.duration(to: clock.now) < .seconds(20) {
            live = try await TestHTTPConnection.with(port: server.port) { try await $0.request(.GET, "/b/echo").status == 200 }
        }
        let delay = changed.duration(to: clock.now)
        #expect(live, "the new route never went live")
        // A few poll intervals (100 ms) when the machine is calm; the bound only tells a live
        // reload from none, so a loaded machine cannot fail it.
        #expect(delay < .seconds(10), "the new route took \(delay)")
        #expect(try await loadPassed(beforeReload), "the load loop ran across the reload")

        let beforeRejectedEdit = requests.withLockedValue { $0 }

        try write("  - { path: /a/, upstream: \"ftp://nope\" }\n")
        for _ in 0..<500 where !recorder.contains("configuration rejected") { try await Task.sleep(for: .milliseconds(20)) }
        #expect(recorder.contains("configuration rejected"))
        #expect(recorder.contains(#"routes[0].upstream: "ftp://nope" is not an http(s) URL"#), "every problem is logged")
        let stillServing = try await TestHTTPConnection.with(port: server.port) { client async throws in
            (try await client.request(.GET, "/a/echo").status, try await client.request(.GET, "/b/echo").status)
        }
        #expect(stillServing == (200, 200), "the old configuration keeps serving")
        #expect(try await loadPassed(beforeRejectedEdit), "the load loop ran across the rejected edit")

        stop.withLockedValue { $0 = true }
        try await load.value
        watching.cancel()
        #expect(failures.withLockedValue { $0 } == 0, "no request failed during the reloads")
        await server.shutdown()
    }
}

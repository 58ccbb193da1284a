import Logging
import NIOConcurrencyHelpers
import NIOPosix
import PorteiroConfig
import PorteiroServer

/// Runs a real gateway on a free loopback port for the duration of `body`, recording its log.
func withGateway(
    routes: [RouteConfig],
    configure: (inout GatewayConfig) -> Void = { _ in },
    _ body: (GatewayServer, LogRecorder) async throws -> Void
) async throws {
    var config = GatewayConfig(routes: routes)
    config.server.listen = "127.0.0.1:0"
    configure(&config)
    let recorder = LogRecorder()
    let server = try await GatewayServer.start(
        config: config, group: MultiThreadedEventLoopGroup.singleton, logger: recorder.logger)
    do {
        try await body(server, recorder)
    } catch {
        await server.shutdown()
        throw error
    }
    await server.shutdown()
}

extension GatewayServer {
    var port: Int { localAddress.port! }
}

/// Keeps every log line in memory so tests can check what was (and was not) logged.
final class LogRecorder: Sendable {
    private let lines = NIOLockedValueBox<[String]>([])

    var logger: Logger {
        Logger(label: "porteiro-test") { _ in RecordingLogHandler(lines: self.lines) }
    }

    var all: [String] { lines.withLockedValue { $0 } }

    func contains(_ text: String) -> Bool { all.contains { $0.contains(text) } }
}

private struct RecordingLogHandler: LogHandler {
    let lines: NIOLockedValueBox<[String]>
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        let fields = (event.metadata ?? [:]).sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
        lines.withLockedValue { $0.append("\(event.level) \(event.message) \(fields.joined(separator: " "))") }
    }
}

import ArgumentParser
import Foundation
import Logging
import NIOCore
import NIOPosix
import PorteiroConfig
import PorteiroServer
import ServiceLifecycle

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the gateway until SIGTERM or SIGINT, then drain in-flight requests."
    )

    @OptionGroup var options: ConfigOption

    func run() async throws {
        let loader = ConfigLoader()
        let text: String
        let config: GatewayConfig
        do {
            text = try loader.readFile(options.path)
        } catch {
            printProblems(ConfigProblems([ConfigProblem(path: "", line: nil, message: "cannot read \(options.path): \(error)")]), file: options.path)
            throw ExitCode(1)
        }
        do {
            config = try loader.load(yaml: text)
        } catch {
            printProblems(error, file: options.path)
            throw ExitCode(1)
        }
        let logger = bootstrapLogging(config.logging)
        let group = MultiThreadedEventLoopGroup(numberOfThreads: config.server.threads > 0 ? config.server.threads : System.coreCount)
        let service = GatewayService(config: config, source: (options.path, text), group: group, logger: logger)
        let services = ServiceGroup(
            configuration: .init(
                services: [.init(service: service)],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger
            )
        )
        do {
            try await services.run()
        } catch {
            logger.critical("gateway stopped", metadata: ["error": "\(error)"])
            try? await group.shutdownGracefully()
            throw ExitCode(1)
        }
        try await group.shutdownGracefully()
    }
}

/// Logs to standard error at the configured level and format; `PORTEIRO_LOG_LEVEL` and
/// `PORTEIRO_LOG_FORMAT` override the file.
func bootstrapLogging(_ settings: LoggingConfig) -> Logger {
    let environment = ProcessInfo.processInfo.environment
    let level = environment["PORTEIRO_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:))
        ?? Logger.Level(rawValue: settings.level.rawValue) ?? .info
    let format = environment["PORTEIRO_LOG_FORMAT"].flatMap(LoggingConfig.Format.init(rawValue:)) ?? settings.format
    LoggingSystem.bootstrap { _ in LineLogHandler(level: level, format: format) }
    return Logger(label: "porteiro")
}

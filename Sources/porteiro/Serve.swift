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
        let group = MultiThreadedEventLoopGroup(numberOfThreads: System.coreCount)
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

/// Logs to standard error at the configured level; `PORTEIRO_LOG_LEVEL` overrides the file.
func bootstrapLogging(_ settings: LoggingConfig) -> Logger {
    let fromEnvironment = ProcessInfo.processInfo.environment["PORTEIRO_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:))
    let level = fromEnvironment ?? Logger.Level(rawValue: settings.level.rawValue) ?? .info
    LoggingSystem.bootstrap { label in
        var handler = StreamLogHandler.standardError(label: label)
        handler.logLevel = level
        return handler
    }
    return Logger(label: "porteiro")
}

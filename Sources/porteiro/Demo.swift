import ArgumentParser
import Foundation
import Logging
import NIOCore
import NIOPosix
import PorteiroConfig
import PorteiroDemo
import PorteiroServer
import ServiceLifecycle

struct Demo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run Porteiro on loopback in front of a built-in sample app; needs nothing else."
    )

    @Option(help: "Port for the gateway on 127.0.0.1.")
    var port = 4180

    func run() async throws {
        let logger = bootstrapLogging(LoggingConfig())
        let group = MultiThreadedEventLoopGroup.singleton
        let app = try await SampleApp.start(group: group)
        let appURL = "http://127.0.0.1:\(app.localAddress!.port!)"
        var config = GatewayConfig(routes: [
            RouteConfig(path: "/", upstream: appURL, auth: .none),
            RouteConfig(path: "/private/", upstream: appURL, auth: .required),
        ])
        config.server.listen = "127.0.0.1:\(port)"
        // Written straight to the file descriptor: `print` is buffered when stdout is a pipe.
        FileHandle.standardOutput.write(Data("""
            Porteiro demo
              open   http://127.0.0.1:\(port)/          public page of the sample app
                     http://127.0.0.1:\(port)/private/  protected page (sign-in arrives with the login issue)
              app    \(appURL)  (what the gateway forwards to)
            Ctrl-C stops it.

            """.utf8))
        let services = ServiceGroup(
            configuration: .init(
                services: [.init(service: GatewayService(config: config, source: nil, group: group, logger: logger))],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger
            )
        )
        try await services.run()
        try await app.close()
    }
}

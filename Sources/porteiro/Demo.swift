import ArgumentParser
import Foundation
import Logging
import NIOCore
import NIOPosix
import PorteiroConfig
import PorteiroDemo
import PorteiroDevProvider
import PorteiroServer
import ServiceLifecycle

struct Demo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run Porteiro on loopback with a development OpenID provider and a sample app; needs nothing else.",
        discussion: "With --issuer the sample app is put behind a real provider instead (a public client whose redirect URI is <gateway>/oauth2/callback)."
    )

    @Option(help: "Port for the gateway on 127.0.0.1.")
    var port = 4180

    @Option(help: "Port for the development OpenID provider on 127.0.0.1 (default: the gateway's port + 1).")
    var providerPort: Int?

    @Option(help: "Lifetime of the development provider's access tokens, e.g. 5s or 5m (short ones show refresh at work).")
    var tokenLifetime = "5m"

    @Option(help: "Use this OpenID provider instead of the development one.")
    var issuer: String?

    @Option(help: "The client registered at --issuer (a public client).")
    var clientID = "porteiro-demo"

    @Option(help: "Serve the gateway over HTTPS with this PEM certificate (needs --tls-key).")
    var tlsCertificate: String?

    @Option(help: "The PEM private key of --tls-certificate.")
    var tlsKey: String?

    func validate() throws {
        if (tlsCertificate == nil) != (tlsKey == nil) { throw ValidationError("--tls-certificate and --tls-key go together") }
        _ = try tokenLifetimeOption(tokenLifetime)
    }

    func run() async throws {
        let lifetime = try tokenLifetimeOption(tokenLifetime)
        let logger = bootstrapLogging(LoggingConfig())
        let group = MultiThreadedEventLoopGroup.singleton
        let gateway = "\(tlsCertificate == nil ? "http" : "https")://127.0.0.1:\(port)"
        var provider: DevProvider?
        if issuer == nil {
            let settings = DevProviderSettings.demo(clientID: clientID, gateway: gateway, accessTokenLifetime: lifetime)
            provider = try await DevProvider.start(settings: settings, group: group, port: providerPort ?? port + 1)
        }
        let app = try await SampleApp.start(group: group)
        let appURL = "http://127.0.0.1:\(app.localAddress!.port!)"
        var config = Self.config(
            gateway: gateway, port: port, issuer: issuer ?? provider!.issuer, clientID: clientID, app: appURL, tokenLifetime: lifetime)
        if let tlsCertificate, let tlsKey {
            config.server.tls = TLSConfig(certificateFile: tlsCertificate, keyFile: tlsKey)
        }
        FileHandle.standardOutput.write(Data(banner(gateway: gateway, provider: provider, app: appURL).utf8))
        let services = ServiceGroup(
            configuration: .init(
                services: [.init(service: GatewayService(config: config, source: nil, group: group, logger: logger))],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger
            )
        )
        try await services.run()
        try await app.close()
        try await provider?.close()
    }

    /// What to open and who may log in; written straight to the file descriptor because `print`
    /// is buffered when stdout is a pipe.
    private func banner(gateway: String, provider: DevProvider?, app: String) -> String {
        let users = provider == nil ? "           (the users of \(issuer ?? ""))" : DevProviderSettings.demoUsers.map { user in
            "           \(user.username) / \(user.password)"
                + (user.groups.isEmpty ? "  (no groups)" : "  (groups: \(user.groups.joined(separator: ", ")))")
        }.joined(separator: "\n")
        let providerLine = provider.map { "\($0.issuer)  (development provider — not for production)" } ?? issuer ?? ""
        return """
            Porteiro demo
              open     \(gateway)/             public page of the sample app
                       \(gateway)/app/         any signed-in user
                       \(gateway)/servidores/  only group servidores
              users
            \(users)
              provider \(providerLine)
              app      \(app)  (what the gateway forwards to)
            Ctrl-C stops it.

            """
    }

    static func config(gateway: String, port: Int, issuer: String, clientID: String, app: String, tokenLifetime: Duration) -> GatewayConfig {
        var session = SessionConfig(secrets: [Keygen.freshSecret()])
        session.refreshBefore = min(.seconds(60), tokenLifetime / 2)
        var provider = ProviderConfig(issuer: issuer, clientID: clientID, clientSecret: nil)
        provider.clockSkew = .seconds(1)
        var servidores = RouteConfig(path: "/servidores/", upstream: app, auth: .required)
        servidores.allow = RouteConfig.Allow()
        servidores.allow?.groups = ["servidores"]
        var config = GatewayConfig(
            provider: provider, session: session,
            routes: [RouteConfig(path: "/", upstream: app, auth: .none), RouteConfig(path: "/app/", upstream: app), servidores])
        config.server.listen = "127.0.0.1:\(port)"
        config.server.publicURL = gateway
        config.server.metricsPath = "/metrics"
        return config
    }
}

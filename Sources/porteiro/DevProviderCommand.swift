public import ArgumentParser
import Foundation
import NIOPosix
import PorteiroConfig
import PorteiroDevProvider

/// The demo's development provider on its own, for trying `serve` (or a soak) without an IAM.
struct DevProviderCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dev-provider",
        abstract: "Run the development OpenID provider alone (users maria/maria, joao/joao; not for production)."
    )

    @Option(help: "Port on 127.0.0.1.")
    var port = 4181

    @Option(help: "The public client's id.")
    var clientID = "porteiro-demo"

    @Option(help: "The gateway's public URL: its /oauth2/callback is the registered redirect URI.")
    var gateway = "http://127.0.0.1:4180"

    @Option(help: "Access-token lifetime, e.g. 60s (refreshed tokens get it too).")
    var tokenLifetime = "5m"

    @Option(help: "The issuer URL when a proxy sits in front of the provider (default http://127.0.0.1:<port>).")
    var publicURL: String?

    @Option(help: "Refresh tokens: rotate (a new one each time, as Keycloak), reuse (none on refresh; the first stays good), or none.")
    var refreshTokens = DevProviderSettings.RefreshTokens.rotate

    @Option(name: .customLong("exchange-audience"), help: "An audience access tokens may be exchanged for (RFC 8693); repeatable.")
    var exchangeAudiences: [String] = []

    @Option(
        name: .customLong("callback-path"),
        help: "The gateway's redirect path when this is not its first provider (/oauth2/callback/<name>); replaces /oauth2/callback.")
    var callbackPath: String?

    func validate() throws {
        _ = try tokenLifetimeOption(tokenLifetime)
    }

    func run() async throws {
        var settings = DevProviderSettings.demo(
            clientID: clientID, gateway: gateway, accessTokenLifetime: try tokenLifetimeOption(tokenLifetime))
        settings.refreshTokens = refreshTokens
        settings.exchangeAudiences = exchangeAudiences
        if let callbackPath { settings.clients[0].redirectURIs = [gateway + callbackPath] }
        let provider = try await DevProvider.start(
            settings: settings, group: MultiThreadedEventLoopGroup.singleton, port: port, publicURL: publicURL)
        FileHandle.standardOutput.write(Data("development provider — not for production: \(provider.issuer)\n".utf8))
        while !Task.isCancelled { try await Task.sleep(for: .seconds(3600)) }
    }
}

/// `--token-lifetime` of `demo` and `dev-provider`: a positive duration like 30s or 5m.
func tokenLifetimeOption(_ text: String) throws -> Duration {
    guard let lifetime = ConfigDuration.parse(text), lifetime > .zero else {
        throw ValidationError("--token-lifetime: \"\(text)\" is not a duration like 30s or 5m")
    }
    return lifetime
}

extension DevProviderSettings.RefreshTokens: ExpressibleByArgument {}

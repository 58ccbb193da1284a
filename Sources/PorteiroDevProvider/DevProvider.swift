public import NIOCore
import NIOConcurrencyHelpers
import NIOHTTP1
import NIOPosix

/// A development OpenID Connect provider for `porteiro demo` and local tests: discovery, JWKS
/// (an RSA key made at start), a login form, PKCE S256 required, codes, refresh tokens with
/// rotation, userinfo and logout. In memory only; every page says it is not for production.
/// Its own target, linked by the `demo` command and never used by `serve`.
public final class DevProvider: Sendable {
    public let issuer: String
    private let channel: any Channel

    private init(issuer: String, channel: any Channel) {
        self.issuer = issuer
        self.channel = channel
    }

    /// Binds `host:port` (port 0 picks a free one); the issuer is `publicURL`, by default
    /// `http://host:port` (a proxy in front of the provider makes it another URL).
    public static func start(
        settings: DevProviderSettings, group: any EventLoopGroup, host: String = "127.0.0.1", port: Int = 0,
        publicURL: String? = nil
    ) async throws -> DevProvider {
        let signer = try await DevTokenSigner.make()
        // The issuer names the bound port, known only after binding; nobody can connect before.
        let endpoints = NIOLockedValueBox<DevProviderEndpoints?>(nil)
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    guard let endpoints = endpoints.withLockedValue({ $0 }) else { throw ChannelError.ioOnClosedChannel }
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                    try channel.pipeline.syncOperations.addHandler(DevProviderHandler(endpoints: endpoints))
                }
            }
            .bind(host: host, port: port)
            .get()
        let issuer = publicURL ?? "http://\(host):\(channel.localAddress?.port ?? port)"
        endpoints.withLockedValue { $0 = DevProviderEndpoints(issuer: issuer, settings: settings, signer: signer) }
        return DevProvider(issuer: issuer, channel: channel)
    }

    public func close() async throws {
        try await channel.close()
    }
}

import NIOCore
import NIOHTTP1
import NIOHTTP2
import NIOSSL
import PorteiroProxy

/// What an accepted connection gets: plain HTTP/1.1; or TLS, then HTTP/2 or HTTP/1.1 as ALPN
/// decides. Every HTTP/2 stream gets its own `GatewayHandler` behind an HTTP/2-to-HTTP/1 codec, so
/// the data path is the same whatever the client speaks.
enum ConnectionInitializer {
    static func configure(_ channel: any Channel, shared: GatewayPipeline.Shared, tls: ListenerTLS?) -> EventLoopFuture<Void> {
        guard let tls else {
            return channel.eventLoop.makeCompletedFuture { try GatewayPipeline.configure(channel, shared: shared, isTLS: false) }
        }
        do {
            try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tls.context))
            // After the TLS handler, where its handshake-completed event arrives.
            try channel.pipeline.syncOperations.addHandler(
                TLSHandshakeTimeout(timeout: TimeAmount(shared.settings.current.idleTimeout)))
        } catch {
            return channel.eventLoop.makeFailedFuture(error)
        }
        guard tls.config.http2 else {
            return channel.eventLoop.makeCompletedFuture { try GatewayPipeline.configure(channel, shared: shared, isTLS: true) }
        }
        return channel.configureHTTP2SecureUpgrade(
            h2ChannelConfigurator: { connection in
                connection.configureHTTP2Pipeline(mode: .server) { stream in
                    stream.eventLoop.makeCompletedFuture { try GatewayPipeline.configureHTTP2Stream(stream, shared: shared) }
                }.flatMapThrowing { multiplexer in
                    let keeper = HTTP2ConnectionKeeper(idleTimeout: TimeAmount(shared.settings.current.idleTimeout))
                    try connection.pipeline.syncOperations.addHandler(keeper, position: .before(multiplexer))
                }
            },
            http1ChannelConfigurator: { connection in
                connection.eventLoop.makeCompletedFuture { try GatewayPipeline.configure(connection, shared: shared, isTLS: true) }
            }
        )
    }
}

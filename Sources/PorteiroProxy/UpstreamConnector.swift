public import NIOCore
import NIOPosix
public import NIOSSL
public import PorteiroConfig

/// Opens connections to upstreams. A protocol so tests can hand out in-memory channels.
public protocol UpstreamConnector: Sendable {
    /// A connected channel on `eventLoop` whose pipeline `UpstreamHandler.install` has configured.
    func connect(to address: UpstreamAddress, on eventLoop: any EventLoop) -> EventLoopFuture<any Channel>
}

/// TCP connections with SwiftNIO, on the caller's event loop so no hop is needed per request;
/// TLS (with SNI and certificate verification) for `https://` upstreams.
public struct SocketUpstreamConnector: UpstreamConnector {
    public var connectTimeout: TimeAmount
    let tls: NIOSSLContext

    public init(connectTimeout: TimeAmount, tls: NIOSSLContext) {
        self.connectTimeout = connectTimeout
        self.tls = tls
    }

    /// The client TLS context `upstream.ca_file` and `upstream.insecure_skip_verify` describe.
    public static func tlsContext(_ config: UpstreamPoolConfig) throws -> NIOSSLContext {
        var configuration = TLSConfiguration.makeClientConfiguration()
        if let caFile = config.caFile { configuration.trustRoots = .file(caFile) }
        if config.insecureSkipVerify { configuration.certificateVerification = .none }
        return try NIOSSLContext(configuration: configuration)
    }

    public func connect(to address: UpstreamAddress, on eventLoop: any EventLoop) -> EventLoopFuture<any Channel> {
        let tls = address.scheme == .https ? self.tls : nil
        return ClientBootstrap(group: eventLoop)
            .connectTimeout(connectTimeout)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let tls {
                        let serverName = address.host.isIPAddress ? nil : address.host
                        try channel.pipeline.syncOperations.addHandler(NIOSSLClientHandler(context: tls, serverHostname: serverName))
                    }
                    try UpstreamPipeline.configure(channel.pipeline.syncOperations)
                }
            }
            .connect(host: address.host, port: address.port)
    }
}

extension String {
    /// SNI carries names only, never addresses (RFC 6066 §3).
    fileprivate var isIPAddress: Bool {
        (try? SocketAddress(ipAddress: self, port: 0)) != nil
    }
}

/// The pipeline every upstream connection needs; custom `UpstreamConnector`s call this.
public enum UpstreamPipeline {
    public static func configure(_ pipeline: ChannelPipeline.SynchronousOperations) throws {
        try UpstreamHandler.install(on: pipeline)
    }
}

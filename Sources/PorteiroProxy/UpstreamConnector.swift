public import NIOCore
import NIOPosix
public import PorteiroConfig

/// Opens connections to upstreams. A protocol so tests can hand out in-memory channels.
public protocol UpstreamConnector: Sendable {
    /// A connected channel on `eventLoop` whose pipeline `UpstreamHandler.install` has configured.
    func connect(to address: UpstreamAddress, on eventLoop: any EventLoop) -> EventLoopFuture<any Channel>
}

/// TCP connections with SwiftNIO, on the caller's event loop so no hop is needed per request.
public struct SocketUpstreamConnector: UpstreamConnector {
    public var connectTimeout: TimeAmount

    public init(connectTimeout: TimeAmount) {
        self.connectTimeout = connectTimeout
    }

    public func connect(to address: UpstreamAddress, on eventLoop: any EventLoop) -> EventLoopFuture<any Channel> {
        guard address.scheme == .http else {
            return eventLoop.makeFailedFuture(UpstreamError.unsupportedScheme)
        }
        return ClientBootstrap(group: eventLoop)
            .connectTimeout(connectTimeout)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try UpstreamPipeline.configure(channel.pipeline.syncOperations)
                }
            }
            .connect(host: address.host, port: address.port)
    }
}

public enum UpstreamError: Error {
    /// `https://` upstreams arrive with TLS support (issue 5).
    case unsupportedScheme
}

/// The pipeline every upstream connection needs; custom `UpstreamConnector`s call this.
public enum UpstreamPipeline {
    public static func configure(_ pipeline: ChannelPipeline.SynchronousOperations) throws {
        try UpstreamHandler.install(on: pipeline)
    }
}

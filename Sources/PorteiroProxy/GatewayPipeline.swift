public import Logging
public import NIOCore
import NIOHTTP1
import NIOHTTP2

/// Installs the gateway on an accepted connection: the HTTP/1 codec and `GatewayHandler` on a
/// plain or TLS connection, or `GatewayHandler` alone on an HTTP/2 stream (whose codec the server
/// has installed).
public enum GatewayPipeline {
    /// What every connection of one listener shares.
    public struct Shared: Sendable {
        public let settings: GatewaySettingsBox
        public let pools: UpstreamPools
        public let readiness: Readiness
        public let maxHeaderBytes: Int
        public let logger: Logger

        public init(settings: GatewaySettingsBox, pools: UpstreamPools, readiness: Readiness, maxHeaderBytes: Int, logger: Logger) {
            self.settings = settings
            self.pools = pools
            self.readiness = readiness
            self.maxHeaderBytes = maxHeaderBytes
            self.logger = logger
        }
    }

    /// An HTTP/1.1 connection (after TLS, if any).
    public static func configure(_ channel: any Channel, shared: Shared, isTLS: Bool) throws {
        var limits = NIOHTTPDecoderLimitConfiguration()
        limits.maxHeaderListSize = shared.maxHeaderBytes
        limits.maxHeaderFieldSize = shared.maxHeaderBytes
        limits.maxHeaderFieldCount = shared.settings.current.maxHeaderCount
        try channel.pipeline.syncOperations.configureHTTPServerPipeline(
            withPipeliningAssistance: true,
            withErrorHandling: false,
            withOutboundHeaderValidation: true,
            withEncoderConfiguration: .init(),
            withDecoderLimitConfiguration: limits
        )
        try addGatewayHandler(channel, shared: shared, isTLS: isTLS)
    }

    /// One HTTP/2 stream (behind TLS): `:authority` checked against `host`, converted to HTTP/1
    /// parts, its body framed for HTTP/1.1, then the same `GatewayHandler` as any connection.
    public static func configureHTTP2Stream(_ stream: any Channel, shared: Shared) throws {
        try stream.pipeline.syncOperations.addHandler(HTTP2AuthorityCheck())
        try stream.pipeline.syncOperations.addHandler(HTTP2FramePayloadToHTTP1ServerCodec())
        try stream.pipeline.syncOperations.addHandler(HTTP2RequestFraming())
        try addGatewayHandler(stream, shared: shared, isTLS: true)
    }

    /// One HTTP/2 stream, already converted to HTTP/1 parts, or the end of `configure`.
    public static func addGatewayHandler(_ channel: any Channel, shared: Shared, isTLS: Bool) throws {
        let handler = GatewayHandler(
            settings: shared.settings, pool: shared.pools.pool(for: channel.eventLoop), readiness: shared.readiness,
            isTLS: isTLS, logger: shared.logger)
        try channel.pipeline.syncOperations.addHandler(handler)
    }
}

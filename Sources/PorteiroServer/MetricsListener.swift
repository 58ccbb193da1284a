import NIOCore
import NIOHTTP1
import NIOPosix
import PorteiroConfig
import PorteiroMetrics
import PorteiroProxy

/// `server.metrics_listen`: a listener for the operator only, answering `/metrics`, `/ping` and
/// `/ready`, so Prometheus and probes need not share the port that faces users.
enum MetricsListener {
    static func bind(_ address: ListenAddress, metrics: GatewayMetrics, isReady: @escaping @Sendable () -> Bool, group: any EventLoopGroup) async throws
        -> any Channel
    {
        try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                    try channel.pipeline.syncOperations.addHandler(MetricsHandler(metrics: metrics, isReady: isReady))
                }
            }
            .bind(host: address.host, port: address.port)
            .get()
    }
}

private final class MetricsHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    let metrics: GatewayMetrics
    let isReady: @Sendable () -> Bool
    private var keepAlive = false
    private var path = ""

    init(metrics: GatewayMetrics, isReady: @escaping @Sendable () -> Bool) {
        self.metrics = metrics
        self.isReady = isReady
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            keepAlive = head.isKeepAlive
            path = String(head.uri.prefix { $0 != "?" })
        case .body:
            break
        case .end:
            let (status, contentType, body): (HTTPResponseStatus, String, [UInt8]) =
                switch path {
                case "/metrics": (.ok, GatewayMetrics.contentType, metrics.exposition())
                case "/ping": (.ok, "text/plain", Array("OK\n".utf8))
                case "/ready" where isReady(): (.ok, "text/plain", Array("READY\n".utf8))
                case "/ready": (.serviceUnavailable, "text/plain", Array("NOT READY\n".utf8))
                default: (.notFound, "text/plain", Array("not found\n".utf8))
                }
            var headers: HTTPHeaders = ["Content-Type": contentType, "Content-Length": "\(body.count)"]
            if !keepAlive { headers.add(name: "Connection", value: "close") }
            context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers))), promise: nil)
            context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: body)))), promise: nil)
            let written = context.writeAndFlush(wrapOutboundOut(.end(nil)))
            if !keepAlive {
                let channel = context.channel
                written.assumeIsolated().whenComplete { _ in channel.close(promise: nil) }
            }
        }
    }
}

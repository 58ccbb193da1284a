public import NIOCore
import NIOHTTP1
import NIOPosix

/// The demo's "legacy app": it has no login of its own and shows what Porteiro sends it — the
/// identity headers, the claims inside the bearer token, every header — with a link to sign out.
public enum SampleApp {
    /// Starts the app on a free loopback port; returns its bound channel.
    public static func start(group: any EventLoopGroup) async throws -> any Channel {
        try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(SampleAppHandler())
                }
            }
            .bind(host: "127.0.0.1", port: 0)
            .get()
    }
}

private final class SampleAppHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private var head: HTTPRequestHead?

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head): self.head = head
        case .body: break
        case .end:
            guard let head else { return }
            let page = SampleAppPage(head: head).html
            let headers: HTTPHeaders = ["Content-Type": "text/html; charset=utf-8", "Content-Length": "\(page.utf8.count)"]
            context.write(wrapOutboundOut(.head(.init(version: .http1_1, status: .ok, headers: headers))), promise: nil)
            context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(string: page)))), promise: nil)
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        }
    }
}

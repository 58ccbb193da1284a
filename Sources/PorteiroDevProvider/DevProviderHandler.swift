import NIOCore
import NIOHTTP1

/// The I/O around `DevProviderEndpoints`: reads a request whole (up to 64 KiB), answers it from a
/// task (signing is async), writes the answer back on the channel's loop.
final class DevProviderHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let endpoints: DevProviderEndpoints
    private var head: HTTPRequestHead?
    private var body = ByteBuffer()
    static let maxBody = 64 * 1024

    init(endpoints: DevProviderEndpoints) {
        self.endpoints = endpoints
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
            body.clear()
        case .body(var part):
            if body.readableBytes + part.readableBytes <= Self.maxBody { body.writeBuffer(&part) }
        case .end:
            guard let head else { return }
            self.head = nil
            let request = DevRequest(
                method: head.method.rawValue, uri: head.uri, body: String(buffer: body),
                cookieHeaders: head.headers["cookie"], authorization: head.headers.first(name: "authorization"))
            let endpoints = self.endpoints
            let keepAlive = head.isKeepAlive
            let loop = context.eventLoop
            let bound = NIOLoopBound((self, context), eventLoop: loop)
            Task {
                let response = await endpoints.handle(request)
                await BackchannelLogoutSender.deliver(response.backchannelLogouts)
                loop.execute {
                    let (handler, context) = bound.value
                    handler.write(response, keepAlive: keepAlive, context: context)
                }
            }
        }
    }

    private func write(_ response: DevResponse, keepAlive: Bool, context: ChannelHandlerContext) {
        var headers = HTTPHeaders(response.headers)
        headers.add(name: "Content-Length", value: "\(response.body.utf8.count)")
        if !keepAlive { headers.add(name: "Connection", value: "close") }
        let status = HTTPResponseStatus(statusCode: response.status)
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers))), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(string: response.body)))), promise: nil)
        let written = context.writeAndFlush(wrapOutboundOut(.end(nil)))
        if !keepAlive {
            let channel = context.channel
            written.assumeIsolated().whenComplete { _ in channel.close(promise: nil) }
        }
    }
}

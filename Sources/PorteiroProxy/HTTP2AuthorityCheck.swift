import NIOCore
import NIOHPACK
import NIOHTTP2

/// On an HTTP/2 stream, before the HTTP/2-to-HTTP/1 codec: a request whose `host` header names
/// another host than its `:authority` is malformed (RFC 9113 §8.3.1). The codec would keep `host`
/// and drop `:authority` silently, so the route and the app could each go by a different host.
/// The two are handed on as two `Host` headers instead, which the gateway refuses with 400 like any
/// request naming two hosts — one answer, logged like every other.
final class HTTP2AuthorityCheck: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTP2Frame.FramePayload
    typealias InboundOut = HTTP2Frame.FramePayload

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard case .headers(var headers) = unwrapInboundIn(data),
            let authority = headers.headers.first(name: ":authority"),
            headers.headers[canonicalForm: "host"].contains(where: { !RequestFraming.sameHost(authority, String($0)) })
        else {
            return context.fireChannelRead(data)
        }
        headers.headers.add(name: "host", value: authority)
        context.fireChannelRead(wrapInboundOut(.headers(headers)))
    }
}

import NIOCore
import NIOHTTP1

/// Gives an HTTP/2 request the HTTP/1.1 framing its body needs upstream. Over HTTP/2 a body is
/// framed by DATA frames and END_STREAM, so a request may carry one with no `content-length`; as
/// HTTP/1.1 such a head says "no body" for GET, HEAD, DELETE, TRACE (NIO's encoder frames only
/// the others), and the DATA bytes would reach the app raw — as a second request of the client's
/// making, past every route policy and header rule.
///
/// The head waits for the next part: `.end` means no body (the head goes on as it is); a body
/// part means `Transfer-Encoding: chunked`, which the rest of the gateway frames as any chunked
/// request.
final class HTTP2RequestFraming: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart

    /// A head without `content-length`, until the part after it says whether a body follows.
    private var waitingHead: HTTPRequestHead?

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(var head) where !head.headers.contains(name: "content-length") && Self.expectsContinue(head):
            // The client waits for `100 Continue` before its DATA: holding the head would stall it.
            head.headers.replaceOrAdd(name: "transfer-encoding", value: "chunked")
            context.fireChannelRead(wrapInboundOut(.head(head)))
        case .head(let head) where !head.headers.contains(name: "content-length"):
            waitingHead = head
            // The next part may need another read: the gateway has seen no head to hold reads for.
            context.read()
        case .head:
            context.fireChannelRead(data)
        case .body:
            if var head = waitingHead {
                waitingHead = nil
                head.headers.replaceOrAdd(name: "transfer-encoding", value: "chunked")
                context.fireChannelRead(wrapInboundOut(.head(head)))
            }
            context.fireChannelRead(data)
        case .end:
            if let head = waitingHead {
                waitingHead = nil
                context.fireChannelRead(wrapInboundOut(.head(head)))
            }
            context.fireChannelRead(data)
        }
    }

    private static func expectsContinue(_ head: HTTPRequestHead) -> Bool {
        head.headers.first(name: "expect")?.lowercased() == "100-continue"
    }
}

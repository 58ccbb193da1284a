import NIOCore
import NIOHTTP2

/// Ends HTTP/2 connections that HTTP/1's handlers would have ended: one idle (no open stream) for
/// `server.idle_timeout`, and, when a drain begins, each as soon as its last stream finishes
/// (after a GOAWAY, so the client opens no more streams). Without it an idle HTTP/2 client would
/// hold its socket forever and a drain would always wait the whole grace period.
/// Sits between `NIOHTTP2Handler` (whose stream events it counts) and the stream multiplexer.
final class HTTP2ConnectionKeeper: ChannelDuplexHandler {
    typealias InboundIn = HTTP2Frame
    typealias InboundOut = HTTP2Frame
    typealias OutboundIn = HTTP2Frame
    typealias OutboundOut = HTTP2Frame

    enum State {
        /// Streams may open. → `.draining`.
        case serving
        /// GOAWAY sent; closes when the last stream ends.
        case draining
    }

    private var state = State.serving
    private var openStreams = 0
    private var idleTimer: Scheduled<Void>?
    private let idleTimeout: TimeAmount

    init(idleTimeout: TimeAmount) {
        self.idleTimeout = idleTimeout
    }

    func handlerAdded(context: ChannelHandlerContext) {
        armIdleTimer(context: context)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        idleTimer?.cancel()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        switch event {
        case is NIOHTTP2StreamCreatedEvent:
            openStreams += 1
            idleTimer?.cancel()
        case is StreamClosedEvent:
            openStreams -= 1
            if openStreams == 0 { becameIdle(context: context) }
        case is ChannelShouldQuiesceEvent:
            state = .draining
            let goAway = HTTP2Frame(streamID: .rootStream, payload: .goAway(lastStreamID: .maxID, errorCode: .noError, opaqueData: nil))
            context.writeAndFlush(wrapOutboundOut(goAway), promise: nil)
            if openStreams == 0 { context.close(promise: nil) }
        default:
            break
        }
        context.fireUserInboundEventTriggered(event)
    }

    /// `NIOHTTP2Handler` reports a connection error (a CONTINUATION flood, an oversized header
    /// block, a frame it cannot parse) after sending GOAWAY, and leaves closing to its user; until
    /// then its decoder keeps buffering whatever the peer sends, without bound — one connection
    /// once grew the process by gigabytes until it trapped. Any error here ends the connection.
    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.fireErrorCaught(error)
        context.close(promise: nil)
    }

    private func becameIdle(context: ChannelHandlerContext) {
        switch state {
        case .serving: armIdleTimer(context: context)
        case .draining: context.close(promise: nil)
        }
    }

    private func armIdleTimer(context: ChannelHandlerContext) {
        idleTimer?.cancel()
        let channel = context.channel
        idleTimer = context.eventLoop.assumeIsolated().scheduleTask(in: idleTimeout) { [weak self] in
            guard let self, self.openStreams == 0 else { return }
            channel.close(promise: nil)
        }
    }
}

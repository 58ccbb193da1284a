import NIOCore
import NIOHTTP1

/// Joins two channels byte for byte after a protocol upgrade (WebSocket), with backpressure:
/// a side stops reading while its partner cannot write. Closing either side closes both, and so
/// does a silence of the route's `timeout` in both directions (as nginx's `proxy_read_timeout`
/// ends a WebSocket): no tunnel holds its two sockets forever.
final class TunnelHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private var partner: TunnelHandler?
    private var context: ChannelHandlerContext?
    private var readPending = false
    /// Shared by both sides (one event loop: the upstream connection lives on the client's).
    private let idle: TunnelIdleTimer

    private init(idle: TunnelIdleTimer) {
        self.idle = idle
    }

    /// Replaces the HTTP handlers of both pipelines with a pair of tunnel handlers. The upstream's
    /// response decoder hands over any bytes it read past the `101` head to the tunnel.
    static func join(client: any Channel, upstream: any Channel, idleTimeout: TimeAmount) throws {
        let idle = TunnelIdleTimer(timeout: idleTimeout)
        let clientSide = TunnelHandler(idle: idle)
        let upstreamSide = TunnelHandler(idle: idle)
        clientSide.partner = upstreamSide
        upstreamSide.partner = clientSide

        // Both ends first, then the client's HTTP handlers, then the upstream's: removing the
        // upstream decoder forwards its leftover bytes, which must find a finished client side.
        let upstreamPipeline = upstream.pipeline.syncOperations
        let clientPipeline = client.pipeline.syncOperations
        try upstreamPipeline.addHandler(upstreamSide)
        try clientPipeline.addHandler(clientSide)
        try clientPipeline.removeHandler(clientPipeline.handler(type: GatewayHandler.self), promise: nil)
        try clientPipeline.removeHandler(clientPipeline.handler(type: NIOHTTPResponseHeadersValidator.self), promise: nil)
        try clientPipeline.removeHandler(clientPipeline.handler(type: HTTPServerPipelineHandler.self), promise: nil)
        try clientPipeline.removeHandler(clientPipeline.handler(type: HTTPResponseEncoder.self), promise: nil)
        try clientPipeline.removeHandler(
            clientPipeline.handler(type: ByteToMessageHandler<HTTPRequestDecoder>.self), promise: nil)
        try upstreamPipeline.removeHandler(upstreamPipeline.handler(type: UpstreamHandler.self), promise: nil)
        try upstreamPipeline.removeHandler(upstreamPipeline.handler(type: NIOHTTPRequestHeadersValidator.self), promise: nil)
        try upstreamPipeline.removeHandler(upstreamPipeline.handler(type: HTTPRequestEncoder.self), promise: nil)
        try upstreamPipeline.removeHandler(
            upstreamPipeline.handler(type: ByteToMessageHandler<HTTPResponseDecoder>.self), promise: nil)
        upstream.read()
        client.read()
        idle.start(on: client.eventLoop, closing: [client, upstream])
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        partner = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        idle.lastActivity = .now()
        partner?.context?.write(data, promise: nil)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        partner?.context?.flush()
    }

    func channelInactive(context: ChannelHandlerContext) {
        idle.cancel()
        partner?.context?.close(promise: nil)
        partner = nil
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable { partner?.resumeReading() }
        context.fireChannelWritabilityChanged()
    }

    func read(context: ChannelHandlerContext) {
        if partner?.context?.channel.isWritable == false {
            readPending = true
        } else {
            context.read()
        }
    }

    private func resumeReading() {
        guard readPending, let context else { return }
        readPending = false
        context.read()
    }
}

/// The silence both sides of a tunnel may keep: checked when it could have run out, and pushed
/// back by any byte in either direction (no timer is rescheduled per read).
final class TunnelIdleTimer {
    private let timeout: TimeAmount
    var lastActivity = NIODeadline.now()
    private var check: Scheduled<Void>?

    init(timeout: TimeAmount) {
        self.timeout = timeout
    }

    func start(on loop: any EventLoop, closing channels: [any Channel]) {
        check = loop.assumeIsolated().scheduleTask(deadline: lastActivity + timeout) { [self] in
            if NIODeadline.now() >= lastActivity + timeout {
                channels.forEach { $0.close(promise: nil) }
            } else {
                start(on: loop, closing: channels)
            }
        }
    }

    func cancel() {
        check?.cancel()
        check = nil
    }
}

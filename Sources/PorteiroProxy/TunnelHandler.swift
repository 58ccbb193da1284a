import NIOCore
import NIOHTTP1

/// Joins two channels byte for byte after a protocol upgrade (WebSocket), with backpressure:
/// a side stops reading while its partner cannot write. Closing either side closes both.
final class TunnelHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private var partner: TunnelHandler?
    private var context: ChannelHandlerContext?
    private var readPending = false

    /// Replaces the HTTP handlers of both pipelines with a pair of tunnel handlers. The upstream's
    /// response decoder hands over any bytes it read past the `101` head to the tunnel.
    static func join(client: any Channel, upstream: any Channel) throws {
        let clientSide = TunnelHandler()
        let upstreamSide = TunnelHandler()
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
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        partner = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        partner?.context?.write(data, promise: nil)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        partner?.context?.flush()
    }

    func channelInactive(context: ChannelHandlerContext) {
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

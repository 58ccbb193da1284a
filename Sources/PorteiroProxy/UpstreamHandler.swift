import NIOCore
import NIOHTTP1

/// What an upstream connection reports to the client connection it is serving right now.
/// Both live on the same event loop, so these are plain synchronous calls.
protocol UpstreamResponseReceiver: AnyObject {
    var clientIsWritable: Bool { get }
    func upstreamReceived(_ part: HTTPClientResponsePart)
    func upstreamReadComplete()
    func upstreamWritabilityChanged(isWritable: Bool)
    func upstreamClosed()
}

/// The last handler of an upstream connection's pipeline: relays response parts to the exchange
/// that leased the connection, and holds reads while that client cannot take more bytes.
final class UpstreamHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundIn = HTTPClientRequestPart
    typealias OutboundOut = HTTPClientRequestPart

    /// Set while leased; nil while idle in the pool, when any byte from upstream is unexpected.
    weak var receiver: (any UpstreamResponseReceiver)?
    /// Tells the pool at once. (The channel's `closeFuture` completes a tick after
    /// `channelInactive`; a pool listening to it could lease out a closed connection meanwhile.)
    var onInactive: (() -> Void)?
    private var context: ChannelHandlerContext?
    /// A `read` held back because the client was not writable.
    private var readPending = false

    /// Installs the HTTP/1.1 client codec and this handler. Framing headers are set by Porteiro
    /// itself (`RequestHeadRewriter`), so the encoder must not add its own.
    static func install(on pipeline: ChannelPipeline.SynchronousOperations) throws {
        var encoderConfiguration = HTTPRequestEncoder.Configuration()
        encoderConfiguration.automaticallySetFramingHeaders = false
        try pipeline.addHTTPClientHandlers(
            leftOverBytesStrategy: .forwardBytes,
            encoderConfiguration: encoderConfiguration
        )
        try pipeline.addHandler(UpstreamHandler())
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard let receiver else {
            // An idle upstream that talks is broken; never hand its bytes to the next client.
            context.close(promise: nil)
            return
        }
        receiver.upstreamReceived(unwrapInboundIn(data))
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        receiver?.upstreamReadComplete()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        receiver?.upstreamWritabilityChanged(isWritable: context.channel.isWritable)
        context.fireChannelWritabilityChanged()
    }

    func channelInactive(context: ChannelHandlerContext) {
        let receiver = self.receiver
        self.receiver = nil
        onInactive?()
        onInactive = nil
        receiver?.upstreamClosed()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    func read(context: ChannelHandlerContext) {
        if let receiver, !receiver.clientIsWritable {
            readPending = true
        } else {
            context.read()
        }
    }

    /// The client drained its buffer: let the upstream's bytes flow again.
    func resumeReading() {
        guard readPending, let context else { return }
        readPending = false
        context.read()
    }

    func write(_ part: HTTPClientRequestPart) {
        context?.write(wrapOutboundOut(part), promise: nil)
    }

    func flush() {
        context?.flush()
    }
}

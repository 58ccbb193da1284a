import NIOCore
import NIOEmbedded
import NIOTLS
@testable import PorteiroServer
import Testing

/// Before a TLS handshake ends no HTTP handler times the connection out: this one does.
@Suite struct TLSHandshakeTimeoutTests {
    func connection() throws -> (EmbeddedEventLoop, EmbeddedChannel) {
        let loop = EmbeddedEventLoop()
        let channel = EmbeddedChannel(handler: TLSHandshakeTimeout(timeout: .seconds(5)), loop: loop)
        try channel.connect(to: SocketAddress(ipAddress: "192.0.2.1", port: 443)).wait()
        return (loop, channel)
    }

    @Test func aHandshakeThatNeverEndsIsClosedAtTheTimeout() throws {
        let (loop, channel) = try connection()
        loop.advanceTime(by: .seconds(4))
        #expect(channel.isActive)
        loop.advanceTime(by: .seconds(1))
        #expect(!channel.isActive)
    }

    @Test func aCompletedHandshakeHandsTheConnectionOnUntimed() throws {
        let (loop, channel) = try connection()
        let seen = EventRecorder()
        try channel.pipeline.syncOperations.addHandler(seen)
        channel.pipeline.fireUserInboundEventTriggered(TLSUserEvent.handshakeCompleted(negotiatedProtocol: "h2"))
        #expect(seen.events == 1, "the ALPN handler behind still hears of the handshake")
        loop.advanceTime(by: .seconds(60))
        #expect(channel.isActive)
        #expect(throws: (any Error).self) { try channel.pipeline.syncOperations.handler(type: TLSHandshakeTimeout.self) }
    }
}

/// Counts the user events that reach it.
final class EventRecorder: ChannelInboundHandler {
    typealias InboundIn = NIOAny
    var events = 0

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        events += 1
        context.fireUserInboundEventTriggered(event)
    }
}

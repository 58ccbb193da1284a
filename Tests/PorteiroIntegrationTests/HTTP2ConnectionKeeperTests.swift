import NIOCore
import NIOEmbedded
import NIOHTTP2
@testable import PorteiroServer
import Testing

/// The HTTP/2 connection's lifecycle, event by event, without sockets.
@Suite struct HTTP2ConnectionKeeperTests {
    let loop = EmbeddedEventLoop()

    func connection() throws -> EmbeddedChannel {
        let channel = EmbeddedChannel(handler: HTTP2ConnectionKeeper(idleTimeout: .seconds(60)), loop: loop)
        try channel.connect(to: SocketAddress(ipAddress: "192.0.2.1", port: 443)).wait()
        return channel
    }

    func opened(_ id: Int) -> NIOHTTP2StreamCreatedEvent {
        NIOHTTP2StreamCreatedEvent(streamID: HTTP2StreamID(id), localInitialWindowSize: nil, remoteInitialWindowSize: nil)
    }

    func closed(_ id: Int) -> StreamClosedEvent {
        StreamClosedEvent(streamID: HTTP2StreamID(id), reason: nil)
    }

    /// A CONTINUATION flood: `NIOHTTP2Handler` refuses it with GOAWAY but leaves the connection
    /// open, buffering everything that follows; the keeper closes it at the first error.
    @Test func aConnectionErrorClosesTheConnection() throws {
        let channel = EmbeddedChannel(loop: loop)
        // As `ConnectionInitializer` installs it.
        try channel.configureHTTP2Pipeline(mode: .server) { $0.eventLoop.makeSucceededVoidFuture() }.flatMapThrowing { multiplexer in
            try channel.pipeline.syncOperations.addHandler(HTTP2ConnectionKeeper(idleTimeout: .seconds(60)), position: .before(multiplexer))
        }.wait()
        try channel.connect(to: SocketAddress(ipAddress: "192.0.2.1", port: 443)).wait()
        func frame(_ type: UInt8, flags: UInt8, stream: UInt32, _ payload: [UInt8]) -> [UInt8] {
            let length = UInt32(payload.count)
            return [UInt8(length >> 16 & 0xff), UInt8(length >> 8 & 0xff), UInt8(length & 0xff), type, flags]
                + [UInt8(stream >> 24), UInt8(stream >> 16 & 0xff), UInt8(stream >> 8 & 0xff), UInt8(stream & 0xff)] + payload
        }
        var bytes = Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8) + frame(4, flags: 0, stream: 0, [])
        bytes += frame(1, flags: 0, stream: 1, [0x82])  // HEADERS without END_HEADERS
        for _ in 0..<20 { bytes += frame(9, flags: 0, stream: 1, Array(repeating: 0x41, count: 4_000)) }  // CONTINUATION
        _ = try? channel.writeInbound(ByteBuffer(bytes: bytes))
        #expect(!channel.isActive, "closed at the error, not left to buffer")
    }

    @Test func anIdleConnectionClosesAfterTheIdleTimeoutButNotWhileAStreamIsOpen() throws {
        let channel = try connection()
        channel.pipeline.fireUserInboundEventTriggered(opened(1))
        loop.advanceTime(by: .seconds(120))
        #expect(channel.isActive, "a stream is open")
        channel.pipeline.fireUserInboundEventTriggered(closed(1))
        loop.advanceTime(by: .seconds(59))
        #expect(channel.isActive)
        loop.advanceTime(by: .seconds(1))
        #expect(!channel.isActive, "idle for the whole timeout")
    }

    @Test func aDrainSendsGoAwayAndClosesWhenTheLastStreamEnds() throws {
        let channel = try connection()
        channel.pipeline.fireUserInboundEventTriggered(opened(1))
        channel.pipeline.fireUserInboundEventTriggered(opened(3))
        channel.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
        let frame = try #require(try channel.readOutbound(as: HTTP2Frame.self))
        guard case .goAway(_, .noError, _) = frame.payload else {
            Issue.record("expected GOAWAY, got \(frame.payload)")
            return
        }
        channel.pipeline.fireUserInboundEventTriggered(closed(1))
        #expect(channel.isActive, "stream 3 still runs")
        channel.pipeline.fireUserInboundEventTriggered(closed(3))
        #expect(!channel.isActive)
    }

    @Test func aDrainClosesAnIdleConnectionAtOnce() throws {
        let channel = try connection()
        channel.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
        #expect(!channel.isActive)
    }
}

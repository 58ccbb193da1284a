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

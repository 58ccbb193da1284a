import Logging
import NIOCore
import NIOEmbedded
import NIOHPACK
import NIOHTTP1
import NIOHTTP2
import PorteiroConfig
import PorteiroProxy
import Testing

/// Never asked: these requests are answered by the gateway itself.
struct RefusingConnector: UpstreamConnector {
    func connect(to address: UpstreamAddress, on eventLoop: any EventLoop) -> EventLoopFuture<any Channel> {
        eventLoop.makeFailedFuture(ChannelError.connectTimeout(.seconds(1)))
    }
}

/// An HTTP/2 stream with the same handlers `ConnectionInitializer` installs, fed frames directly.
@Suite struct HTTP2AuthorityCheckTests {
    func stream() throws -> EmbeddedChannel {
        let loop = EmbeddedEventLoop()
        let config = GatewayConfig(routes: [RouteConfig(path: "/", upstream: "http://app:8080", auth: .none)])
        let shared = GatewayPipeline.Shared(
            settings: GatewaySettingsBox(try GatewaySettings(config: config)),
            pools: UpstreamPools(group: loop, config: config.upstream, connector: RefusingConnector()), readiness: Readiness(),
            maxHeaderBytes: 32_768, logger: Logger(label: "test") { _ in SwiftLogNoOpLogHandler() })
        let channel = EmbeddedChannel(loop: loop)
        try GatewayPipeline.configureHTTP2Stream(channel, shared: shared)
        try channel.connect(to: SocketAddress(ipAddress: "192.0.2.1", port: 50_000)).wait()
        return channel
    }

    func status(authority: String, host: String?, extra: Int = 0) throws -> String? {
        let channel = try stream()
        var headers: HPACKHeaders = [":method": "GET", ":scheme": "https", ":authority": authority, ":path": "/ping"]
        if let host { headers.add(name: "host", value: host) }
        for index in 0..<extra { headers.add(name: "x-filler-\(index)", value: "1") }
        try channel.writeInbound(HTTP2Frame.FramePayload.headers(.init(headers: headers, endStream: true)))
        while let frame = try channel.readOutbound(as: HTTP2Frame.FramePayload.self) {
            if case .headers(let answer) = frame { return answer.headers.first(name: ":status") }
        }
        return nil
    }

    /// An HTTP/2 header block arrives whole; `server.max_header_count` (100) holds for it too.
    @Test func tooManyHeadersOverHTTP2Are431() throws {
        #expect(try status(authority: "p", host: nil, extra: 300) == "431")
        #expect(try status(authority: "p", host: nil, extra: 50) == "200")
    }

    @Test(arguments: ["x@portal.example.org", "portal.example.org:80:80", "a..b", ".example.org", "p/x", "p?x"])
    func anAuthorityThatIsNoHostNameIs400(authority: String) throws {
        #expect(try status(authority: authority, host: nil) == "400")
    }

    /// Whitespace around `:authority` is refused before the gateway sees the request (no answer:
    /// the stream ends); it never reaches a route as another host.
    @Test func anAuthorityWithSpacesIsNeverServed() throws {
        #expect(try status(authority: "portal.example.org ", host: nil) != "200")
    }

    /// RFC 9113 §8.3.1: a `host` that names another host than `:authority` is malformed. The codec
    /// would keep `host` and drop `:authority` without a word; the gateway answers 400.
    @Test func aHostThatDisagreesWithTheAuthorityIs400() throws {
        #expect(try status(authority: "portal.example.org", host: "admin.example.org") == "400")
        #expect(try status(authority: "portal.example.org", host: nil) == "200")
        #expect(try status(authority: "portal.example.org:443", host: "Portal.Example.org") == "200")
    }
}

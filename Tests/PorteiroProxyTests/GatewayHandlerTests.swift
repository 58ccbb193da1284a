import Logging
import NIOCore
import NIOEmbedded
import NIOHTTP1
import PorteiroConfig
import PorteiroProxy
import Testing

/// Hands out in-memory upstream connections on the test's event loop and keeps them for inspection.
/// Only touched from the test's own thread (the embedded loop runs there), hence `@unchecked`.
final class EmbeddedConnector: UpstreamConnector, @unchecked Sendable {
    let loop: EmbeddedEventLoop
    private(set) var channels: [EmbeddedChannel] = []

    init(loop: EmbeddedEventLoop) {
        self.loop = loop
    }

    func connect(to address: UpstreamAddress, on eventLoop: any EventLoop) -> EventLoopFuture<any Channel> {
        let channel = EmbeddedChannel(loop: loop)
        do {
            try UpstreamPipeline.configure(channel.pipeline.syncOperations)
            try channel.connect(to: SocketAddress(ipAddress: "10.9.9.9", port: address.port)).wait()
        } catch {
            return loop.makeFailedFuture(error)
        }
        channels.append(channel)
        return loop.makeSucceededFuture(channel)
    }
}

/// Counts the `read` calls that pass the gateway handler, i.e. that reach the socket.
final class ReadCounter: ChannelOutboundHandler {
    typealias OutboundIn = Any
    var reads = 0

    func read(context: ChannelHandlerContext) {
        reads += 1
        context.read()
    }
}

/// One client connection with the real gateway pipeline, driven byte by byte without sockets.
struct GatewayHarness {
    let loop = EmbeddedEventLoop()
    let client: EmbeddedChannel
    let connector: EmbeddedConnector
    let readCounter = ReadCounter()
    /// What a reload replaces.
    let settings: GatewaySettingsBox

    /// The client connects from 192.0.2.1; `configure` may list it in `server.trusted_proxies`.
    init(
        routes: [RouteConfig] = [RouteConfig(path: "/", upstream: "http://app:8080", auth: .none)], idleTimeout: Duration = .seconds(60),
        authenticator: (any GatewayAuthenticator)? = nil, configure: (inout GatewayConfig) -> Void = { _ in }
    ) throws {
        var config = GatewayConfig(routes: routes)
        config.server.idleTimeout = idleTimeout
        configure(&config)
        connector = EmbeddedConnector(loop: loop)
        let pools = UpstreamPools(group: loop, config: config.upstream, connector: connector)
        client = EmbeddedChannel(loop: loop)
        try client.pipeline.syncOperations.addHandler(readCounter)
        settings = GatewaySettingsBox(try GatewaySettings(config: config, authenticator: authenticator))
        let shared = GatewayPipeline.Shared(
            settings: settings, pools: pools, readiness: Readiness(),
            maxHeaderBytes: config.server.maxHeaderBytes, logger: Logger(label: "test") { _ in SwiftLogNoOpLogHandler() })
        try GatewayPipeline.configure(client, shared: shared, isTLS: false)
        try client.connect(to: SocketAddress(ipAddress: "192.0.2.1", port: 50_000)).wait()
    }

    /// Feeds `text` to the gateway one byte at a time, as the slowest network would.
    func clientSends(_ text: String, byteByByte: Bool = true) throws {
        if byteByByte {
            for byte in text.utf8 { try client.writeInbound(ByteBuffer(bytes: [byte])) }
        } else {
            try client.writeInbound(ByteBuffer(string: text))
        }
    }

    func clientReceived() throws -> String { try drain(client) }

    /// The `index`th upstream connection opened; a test failure, not a crash, when there is none.
    func upstream(_ index: Int) throws -> EmbeddedChannel {
        try #require(index < connector.channels.count, "upstream connection \(index) was never opened")
        return connector.channels[index]
    }

    func upstreamSends(_ index: Int, _ text: String) throws {
        let channel = try upstream(index)
        for byte in text.utf8 { try channel.writeInbound(ByteBuffer(bytes: [byte])) }
    }

    func upstreamReceived(_ index: Int) throws -> String { try drain(try upstream(index)) }

    private func drain(_ channel: EmbeddedChannel) throws -> String {
        var text = ""
        while let data = try channel.readOutbound(as: IOData.self) {
            guard case .byteBuffer(let buffer) = data else { continue }
            text += String(buffer: buffer)
        }
        return text
    }
}

@Suite struct GatewayHandlerTests {
    @Test func answersHealthChecksLocally() throws {
        let gateway = try GatewayHarness()
        try gateway.clientSends("GET /ping HTTP/1.1\r\nHost: a\r\n\r\n")
        let response = try gateway.clientReceived()
        #expect(response.hasPrefix("HTTP/1.1 200 OK\r\n"))
        #expect(response.hasSuffix("\r\n\r\nOK\n"))
        #expect(gateway.connector.channels.isEmpty)
    }

    @Test func proxiesAnExchangeByteByByteAndReusesTheConnection() throws {
        let gateway = try GatewayHarness()
        try gateway.clientSends("GET /a?x=1 HTTP/1.1\r\nHost: portal\r\nX-Forwarded-User: spoof\r\n\r\n")
        let sent = try gateway.upstreamReceived(0)
        #expect(sent.hasPrefix("GET /a?x=1 HTTP/1.1\r\n"))
        #expect(sent.lowercased().contains("x-forwarded-for: 192.0.2.1\r\n"))
        #expect(sent.lowercased().contains("host: portal\r\n"))
        #expect(!sent.lowercased().contains("spoof"))
        try gateway.upstreamSends(0, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi")
        let response = try gateway.clientReceived()
        #expect(response.hasPrefix("HTTP/1.1 200 OK\r\n"))
        #expect(response.hasSuffix("\r\n\r\nhi"))

        try gateway.clientSends("GET /b HTTP/1.1\r\nHost: portal\r\n\r\n")
        #expect(try gateway.upstreamReceived(0).hasPrefix("GET /b HTTP/1.1\r\n"))
        #expect(gateway.connector.channels.count == 1, "the pooled connection is reused")
    }

    /// Red team 5 (F1): a refused request with a body closes the connection; a request pipelined
    /// behind it in the same read must not reach the app (it did, unlogged, on a pooled connection).
    @Test func aRequestPipelinedBehindAClosingRefusalIsNeverSent() throws {
        var readOnly = RouteConfig(path: "/ro/", upstream: "http://app:8080", auth: .none)
        readOnly.methods = ["GET"]
        let gateway = try GatewayHarness(routes: [readOnly, RouteConfig(path: "/", upstream: "http://app:8080", auth: .none)])
        try gateway.clientSends("GET /warm HTTP/1.1\r\nHost: p\r\n\r\n", byteByByte: false)
        _ = try gateway.upstreamReceived(0)
        try gateway.upstreamSends(0, "HTTP/1.1 204 No Content\r\n\r\n")
        _ = try gateway.clientReceived()
        try gateway.clientSends(
            "POST /ro/x HTTP/1.1\r\nHost: p\r\nContent-Length: 5\r\n\r\nhello"
                + "POST /after-close HTTP/1.1\r\nHost: p\r\nContent-Length: 11\r\n\r\nsecond-body", byteByByte: false)
        let response = try gateway.clientReceived()
        #expect(response.hasPrefix("HTTP/1.1 405 "))
        #expect(response.lowercased().contains("connection: close\r\n"))
        #expect(try gateway.upstreamReceived(0).isEmpty, "the pipelined request reached the app")
        #expect(gateway.connector.channels.count == 1)
    }

    /// Red team 5 (F4): bytes after a `Connection: close` request (the parser refuses them) must not
    /// cost that request its answer.
    @Test func bytesAfterAConnectionCloseRequestDoNotLoseItsAnswer() throws {
        let gateway = try GatewayHarness()
        try gateway.clientSends(
            "GET /c1 HTTP/1.1\r\nHost: p\r\nConnection: close\r\n\r\nGET /c2 HTTP/1.1\r\nHost: p\r\n\r\n", byteByByte: false)
        let sent = try gateway.upstreamReceived(0)
        #expect(sent.hasPrefix("GET /c1 HTTP/1.1\r\n") && !sent.contains("/c2"))
        try gateway.upstreamSends(0, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi")
        let response = try gateway.clientReceived()
        #expect(response.hasPrefix("HTTP/1.1 200 OK\r\n") && response.hasSuffix("\r\n\r\nhi"))
        #expect(response.lowercased().contains("connection: close\r\n"))
    }

    @Test func retriesAnIdempotentRequestWhenTheReusedConnectionDies() throws {
        let gateway = try GatewayHarness()
        try gateway.clientSends("GET /a HTTP/1.1\r\nHost: p\r\n\r\n", byteByByte: false)
        _ = try gateway.upstreamReceived(0)
        try gateway.upstreamSends(0, "HTTP/1.1 204 No Content\r\n\r\n")
        _ = try gateway.clientReceived()

        try gateway.clientSends("GET /again HTTP/1.1\r\nHost: p\r\n\r\n", byteByByte: false)
        #expect(try gateway.upstreamReceived(0).hasPrefix("GET /again "))
        try gateway.upstream(0).close().wait()
        #expect(try gateway.upstreamReceived(1).hasPrefix("GET /again "), "sent once more on a fresh connection")
        try gateway.upstreamSends(1, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
        #expect(try gateway.clientReceived().hasPrefix("HTTP/1.1 200 OK"))
    }

    @Test func neverRetriesARequestWithABody() throws {
        let gateway = try GatewayHarness()
        try gateway.clientSends("GET /a HTTP/1.1\r\nHost: p\r\n\r\n", byteByByte: false)
        try gateway.upstreamSends(0, "HTTP/1.1 204 No Content\r\n\r\n")
        _ = try gateway.clientReceived()
        try gateway.clientSends("PUT /doc HTTP/1.1\r\nHost: p\r\nContent-Length: 3\r\n\r\nabc", byteByByte: false)
        try gateway.upstream(0).close().wait()
        #expect(gateway.connector.channels.count == 1)
        #expect(try gateway.clientReceived().hasPrefix("HTTP/1.1 502 Bad Gateway"))
    }

    @Test func holdsClientReadsWhileTheUpstreamCannotTakeMore() throws {
        let gateway = try GatewayHarness()
        try gateway.clientSends("POST /upload HTTP/1.1\r\nHost: p\r\nContent-Length: 10\r\n\r\n01234", byteByByte: false)
        let upstream = try gateway.upstream(0)
        upstream.isWritable = false
        upstream.pipeline.fireChannelWritabilityChanged()
        let before = gateway.readCounter.reads
        gateway.client.read()
        #expect(gateway.readCounter.reads == before, "no read while the upstream is full")
        upstream.isWritable = true
        upstream.pipeline.fireChannelWritabilityChanged()
        #expect(gateway.readCounter.reads == before + 1, "the held read is released")
        try gateway.clientSends("56789", byteByByte: false)
        #expect(try gateway.upstreamReceived(0).hasSuffix("0123456789"))
    }

    @Test func answers504WhenTheUpstreamIsSilent() throws {
        let gateway = try GatewayHarness(routes: [RouteConfig(path: "/", upstream: "http://app", auth: .none, timeout: .seconds(5))])
        try gateway.clientSends("GET /slow HTTP/1.1\r\nHost: p\r\n\r\n", byteByByte: false)
        gateway.loop.advanceTime(by: .seconds(4))
        #expect(try gateway.clientReceived().isEmpty)
        gateway.loop.advanceTime(by: .seconds(1))
        #expect(try gateway.clientReceived().hasPrefix("HTTP/1.1 504 Gateway Timeout"))
        #expect(try !gateway.upstream(0).isActive, "the silent connection is not pooled")
    }

    @Test func closesIdleClientsAndUnfinishedHeads() throws {
        let gateway = try GatewayHarness(idleTimeout: .seconds(10))
        try gateway.clientSends("GET /ping HTTP/1.1\r\nHo")
        gateway.loop.advanceTime(by: .seconds(10))
        #expect(!gateway.client.isActive)
    }

    @Test func refusesUnreadableRequestsWith400() throws {
        let gateway = try GatewayHarness()
        try? gateway.clientSends("GET / HTTP/1.1\r\nHost: a\r\nBad Header: x\r\n\r\n", byteByByte: false)
        #expect(try gateway.clientReceived().hasPrefix("HTTP/1.1 400 Bad Request"))
    }
}

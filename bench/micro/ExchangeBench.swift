#if canImport(Glibc)
import Glibc
#endif
import Logging
import NIOCore
import NIOEmbedded
import NIOHTTP1
import PorteiroConfig
import PorteiroProxy
import PorteiroServer

/// Hands the gateway in-memory upstream connections; the pool reuses the first for every exchange.
final class EmbeddedUpstreams: UpstreamConnector, @unchecked Sendable {
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

/// One keep-alive exchange through the whole gateway pipeline as `serve` builds it (HTTP/1.1
/// codecs on both sides, the gateway handler, the pool), on a public route, without sockets: the
/// user-space CPU of a proxied request, free of the kernel and of the noise of a load test.
/// `accessLog` writes each line (to /dev/null) exactly as `serve` does.
func exchangeNanoseconds(accessLog: Bool) throws -> Double {
    var config = GatewayConfig(routes: [RouteConfig(path: "/", upstream: "http://app:8080", auth: .none)])
    config.logging.accessLog = accessLog
    let loop = EmbeddedEventLoop()
    let upstreams = EmbeddedUpstreams(loop: loop)
    let logger = Logger(label: "porteiro") { _ in LineLogHandler(level: .info, format: .logfmt) }
    let shared = GatewayPipeline.Shared(
        settings: GatewaySettingsBox(try GatewaySettings(config: config)),
        pools: UpstreamPools(group: loop, config: config.upstream, connector: upstreams), readiness: Readiness(),
        maxHeaderBytes: config.server.maxHeaderBytes, logger: logger)
    let client = EmbeddedChannel(loop: loop)
    try GatewayPipeline.configure(client, shared: shared, isTLS: false)
    try client.connect(to: SocketAddress(ipAddress: "192.0.2.1", port: 50_000)).wait()

    let answered = Tally()
    func exchange() throws {
        try client.writeInbound(ExchangeBench.request)
        guard let upstream = upstreams.channels.first else { throw ExchangeBenchError.noUpstream }
        while try upstream.readOutbound(as: ByteBuffer.self) != nil {}
        try upstream.writeInbound(ExchangeBench.response)
        while let bytes = try client.readOutbound(as: ByteBuffer.self) {
            if bytes.readableBytesView.starts(with: "HTTP/1.1 200".utf8) { answered.count += 1 }
        }
    }
    // The access log goes where `serve` writes it, standard error: to /dev/null while measuring.
    let savedStandardError = dup(STDERR_FILENO)
    let null = open("/dev/null", O_WRONLY)
    dup2(null, STDERR_FILENO)
    defer {
        dup2(savedStandardError, STDERR_FILENO)
        close(null)
        close(savedStandardError)
    }
    var failure: (any Error)?
    let nanoseconds = measure(20_000) {
        do { try exchange() } catch { failure = error }
    }
    if let failure { throw failure }
    // Every exchange answered 200 on the one pooled upstream connection, or the figure means nothing.
    guard answered.count == 20_000 / 2 + 7 * 20_000, upstreams.channels.count == 1 else { throw ExchangeBenchError.notProxied(answered.count) }
    return nanoseconds
}

/// Responses that came back 200, counted inside the timed loop.
final class Tally {
    var count = 0
}

enum ExchangeBenchError: Error {
    case noUpstream
    case notProxied(Int)
}

/// The reference: NIO's HTTP/1.1 codecs on both sides joined by the least a proxy can do (parts
/// passed through as they are, one pooled upstream connection), in memory like the case above.
/// The difference between the two is Porteiro's own work per exchange.
func bareNIOExchangeNanoseconds() throws -> Double {
    final class ClientSide: ChannelInboundHandler {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart
        let upstream: EmbeddedChannel
        var context: ChannelHandlerContext?
        init(upstream: EmbeddedChannel) { self.upstream = upstream }
        func handlerAdded(context: ChannelHandlerContext) { self.context = context }
        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let head):
                upstream.write(HTTPClientRequestPart.head(HTTPRequestHead(version: .http1_1, method: head.method, uri: head.uri, headers: head.headers)), promise: nil)
            case .body(let buffer):
                upstream.write(HTTPClientRequestPart.body(.byteBuffer(buffer)), promise: nil)
            case .end:
                upstream.writeAndFlush(HTTPClientRequestPart.end(nil), promise: nil)
            }
        }
    }
    final class UpstreamSide: ChannelInboundHandler {
        typealias InboundIn = HTTPClientResponsePart
        weak var client: ClientSide?
        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            guard let clientContext = client?.context else { return }
            switch unwrapInboundIn(data) {
            case .head(let head): clientContext.write(NIOAny(HTTPServerResponsePart.head(head)), promise: nil)
            case .body(let buffer): clientContext.write(NIOAny(HTTPServerResponsePart.body(.byteBuffer(buffer))), promise: nil)
            case .end: clientContext.writeAndFlush(NIOAny(HTTPServerResponsePart.end(nil)), promise: nil)
            }
        }
    }
    let loop = EmbeddedEventLoop()
    let upstream = EmbeddedChannel(loop: loop)
    try upstream.pipeline.syncOperations.addHTTPClientHandlers()
    let upstreamSide = UpstreamSide()
    try upstream.pipeline.syncOperations.addHandler(upstreamSide)
    let client = EmbeddedChannel(loop: loop)
    try client.pipeline.syncOperations.configureHTTPServerPipeline(withPipeliningAssistance: true, withErrorHandling: false)
    let clientSide = ClientSide(upstream: upstream)
    upstreamSide.client = clientSide
    try client.pipeline.syncOperations.addHandler(clientSide)
    try client.connect(to: SocketAddress(ipAddress: "192.0.2.1", port: 50_000)).wait()
    try upstream.connect(to: SocketAddress(ipAddress: "10.9.9.9", port: 8080)).wait()
    let answered = Tally()
    func exchange() throws {
        try client.writeInbound(ExchangeBench.request)
        while try upstream.readOutbound(as: ByteBuffer.self) != nil {}
        try upstream.writeInbound(ExchangeBench.response)
        while let bytes = try client.readOutbound(as: ByteBuffer.self) {
            if bytes.readableBytesView.starts(with: "HTTP/1.1 200".utf8) { answered.count += 1 }
        }
    }
    var failure: (any Error)?
    let nanoseconds = measure(20_000) {
        do { try exchange() } catch { failure = error }
    }
    if let failure { throw failure }
    guard answered.count == 20_000 / 2 + 7 * 20_000 else { throw ExchangeBenchError.notProxied(answered.count) }
    return nanoseconds
}

/// What both cases exchange: a small GET and nginx's answer to it.
enum ExchangeBench {
    static let request = ByteBuffer(string: "GET / HTTP/1.1\r\nHost: gw.example.org\r\nUser-Agent: wrk\r\nAccept: */*\r\n\r\n")
    static let response = ByteBuffer(string: """
        HTTP/1.1 200 OK\r\nServer: nginx\r\nDate: Mon, 07 Dec 2026 23:00:00 GMT\r\nContent-Type: text/html\r
        Content-Length: 13\r\nLast-Modified: Mon, 07 Dec 2026 22:00:00 GMT\r\nConnection: keep-alive\r
        ETag: "6756a1c0-d"\r\nAccept-Ranges: bytes\r\n\r\nHello, world\n
        """)
}

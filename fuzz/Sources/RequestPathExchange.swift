import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOEmbedded
import NIOHPACK
import NIOHTTP1
import NIOHTTP2
import PorteiroConfig
import PorteiroProxy
import PorteiroRouting

/// One fuzz input's run: a client connection on a thread-safe testing loop (the authenticator's
/// async work completes on other threads), in-memory upstreams that answer every request, and the
/// heads each side saw, for the invariants.
struct Exchange {
    let trusted: Bool
    let upstreamAnswer: [UInt8]
    let loop = NIOAsyncTestingEventLoop()
    let record = Recording()

    init(trusted: Bool, upstreamAnswer: [UInt8]) {
        self.trusted = trusted
        self.upstreamAnswer = upstreamAnswer
    }

    var peer: String { trusted ? RequestPathTarget.trustedPeer : RequestPathTarget.untrustedPeer }

    func shared(_ connector: FuzzConnector) -> GatewayPipeline.Shared {
        GatewayPipeline.Shared(
            settings: RequestPathTarget.settings, pools: UpstreamPools(group: loop, config: UpstreamPoolConfig(), connector: connector),
            readiness: Readiness(), maxHeaderBytes: 8_192, logger: Logger(label: "fuzz") { _ in SwiftLogNoOpLogHandler() })
    }

    func run(http1 request: [UInt8]) async {
        let connector = FuzzConnector(loop: loop, record: record)
        let client = NIOAsyncTestingChannel(loop: loop)
        let shared = shared(connector)
        let record = record
        try! await loop.executeInContext {
            try GatewayPipeline.configure(client, shared: shared, isTLS: false)
            let validator = try client.pipeline.syncOperations.handler(type: NIOHTTPResponseHeadersValidator.self)
            try client.pipeline.syncOperations.addHandler(ClientRecorder(record: record), position: .after(validator))
        }
        try! await client.connect(to: SocketAddress(ipAddress: peer, port: 50_000)).get()
        // Two reads, split where the input says, so heads that span reads are exercised too.
        let cut = request.isEmpty ? 0 : Int(request[request.count / 2]) % (request.count + 1)
        for part in [request[..<cut], request[cut...]] where !part.isEmpty {
            _ = try? await client.writeInbound(ByteBuffer(bytes: part))
            await settle(connector, client)
        }
        await finish(connector, client)
    }

    func run(http2 request: [UInt8]) async {
        let connector = FuzzConnector(loop: loop, record: record)
        let stream = NIOAsyncTestingChannel(loop: loop)
        let shared = shared(connector)
        let record = record
        try! await loop.executeInContext {
            try GatewayPipeline.configureHTTP2Stream(stream, shared: shared)
            let codec = try stream.pipeline.syncOperations.handler(type: HTTP2FramePayloadToHTTP1ServerCodec.self)
            try stream.pipeline.syncOperations.addHandler(ClientRecorder(record: record), position: .after(codec))
        }
        try! await stream.connect(to: SocketAddress(ipAddress: peer, port: 50_000)).get()
        let (headers, body) = Self.headerBlock(request)
        _ = try? await stream.writeInbound(HTTP2Frame.FramePayload.headers(.init(headers: headers, endStream: body.isEmpty)))
        if !body.isEmpty {
            _ = try? await stream.writeInbound(HTTP2Frame.FramePayload.data(.init(data: .byteBuffer(ByteBuffer(bytes: body)), endStream: true)))
        }
        await settle(connector, stream)
        await finish(connector, stream)
    }

    /// `name: value` lines up to a blank line; the rest is the body. Names that are not ASCII are
    /// skipped: the HPACK decoder never yields one (and `HPACKHeaders.add` requires it).
    static func headerBlock(_ bytes: [UInt8]) -> (HPACKHeaders, [UInt8]) {
        var headers = HPACKHeaders()
        var rest = bytes[...]
        while let newline = rest.firstIndex(of: UInt8(ascii: "\n")) {
            let line = rest[..<newline]
            rest = rest[(newline + 1)...]
            if line.isEmpty { return (headers, Array(rest)) }
            guard let colon = line.dropFirst().firstIndex(of: UInt8(ascii: ":")), line[..<colon].allSatisfy({ $0 < 0x80 }) else { continue }
            let value = line[(colon + 1)...].drop { $0 == UInt8(ascii: " ") }
            headers.add(name: String(decoding: line[..<colon], as: UTF8.self), value: String(decoding: value, as: UTF8.self))
        }
        return (headers, [])
    }

    /// Lets every consequence of the input happen: async authenticator work, upstream answers,
    /// further requests on the same connection. Stops when nothing moves any more.
    func settle(_ connector: FuzzConnector, _ client: NIOAsyncTestingChannel) async {
        var quiet = 0
        for _ in 0..<200 where quiet < 3 {
            await loop.run()
            let answered = await connector.answerPending(with: upstreamAnswer)
            while (try? await client.readOutbound(as: IOData.self)) != nil {}
            while (try? await client.readOutbound(as: HTTP2Frame.FramePayload.self)) != nil {}
            let busy = (RequestPathTarget.settings.current.authenticator as? FuzzAuthenticator)?.inFlight.withLockedValue { $0 } ?? 0
            quiet = answered || busy > 0 ? 0 : quiet + 1
            await Task.yield()
        }
    }

    /// Timers fire (idle, upstream timeouts), then everything closes; then the invariants.
    func finish(_ connector: FuzzConnector, _ client: NIOAsyncTestingChannel) async {
        await loop.advanceTime(by: .seconds(120))
        await settle(connector, client)
        _ = try? await client.close()
        await connector.closeAll()
        await settle(connector, client)
        await loop.shutdownGracefully()
        record.check(trusted: trusted, peer: peer)
    }
}

/// Hands out in-memory upstream connections, each named after the upstream it stands for.
final class FuzzConnector: UpstreamConnector, @unchecked Sendable {
    let loop: NIOAsyncTestingEventLoop
    let record: Recording
    /// Touched on the loop (connect) and by the harness between loop runs; the lock orders them.
    private let channels = NIOLockedValueBox<[(upstream: String, channel: NIOAsyncTestingChannel, answered: Int)]>([])

    init(loop: NIOAsyncTestingEventLoop, record: Recording) {
        self.loop = loop
        self.record = record
    }

    func connect(to address: UpstreamAddress, on eventLoop: any EventLoop) -> EventLoopFuture<any Channel> {
        let channel = NIOAsyncTestingChannel(loop: loop)
        do {
            try UpstreamPipeline.configure(channel.pipeline.syncOperations)
            let encoder = try channel.pipeline.syncOperations.handler(type: HTTPRequestEncoder.self)
            try channel.pipeline.syncOperations.addHandler(UpstreamRecorder(upstream: address.host, record: record), position: .after(encoder))
        } catch {
            return eventLoop.makeFailedFuture(error)
        }
        channels.withLockedValue { $0.append((address.host, channel, 0)) }
        return channel.connect(to: try! SocketAddress(ipAddress: "10.9.9.9", port: address.port)).map { channel }
    }

    /// Answers each request an upstream has received and not yet answered; true if any.
    func answerPending(with answer: [UInt8]) async -> Bool {
        var answeredAny = false
        for (index, entry) in channels.withLockedValue({ Array($0.enumerated()) }) {
            while (try? await entry.channel.readOutbound(as: IOData.self)) != nil {}
            let received = record.requests(to: entry.upstream, on: ObjectIdentifier(entry.channel))
            guard received > entry.answered, entry.channel.isActive else { continue }
            channels.withLockedValue { $0[index].answered = received }
            _ = try? await entry.channel.writeInbound(ByteBuffer(bytes: answer))
            answeredAny = true
        }
        return answeredAny
    }

    func closeAll() async {
        for entry in channels.withLockedValue({ $0 }) { _ = try? await entry.channel.close() }
    }
}

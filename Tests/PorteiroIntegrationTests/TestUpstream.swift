#if canImport(Glibc)
import Glibc
#endif
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOWebSocket

/// A real HTTP/1.1 upstream app on a loopback port, with endpoints that misbehave on request:
/// `/echo` (request line, headers and body size as text), `/upload` (checks a patterned body),
/// `/download?bytes=N` (streams N patterned bytes with backpressure), `/chunked`, `/slow?ms=N`,
/// `/close` (hangs up without answering), `/ws` (WebSocket echo).
final class TestUpstream: Sendable {
    let channel: any Channel
    let connections = NIOLockedValueBox<[any Channel]>([])
    var port: Int { channel.localAddress!.port! }
    var url: String { "http://127.0.0.1:\(port)" }
    var connectionsAccepted: Int { acceptedCount.withLockedValue { $0 } }
    private let acceptedCount = NIOLockedValueBox(0)

    private init(channel: any Channel) {
        self.channel = channel
    }

    static func start(group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) async throws -> TestUpstream {
        let box = NIOLockedValueBox<TestUpstream?>(nil)
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                box.withLockedValue { $0 }?.accepted(channel)
                let upgrader = NIOWebSocketServerUpgrader(
                    shouldUpgrade: { channel, head in
                        channel.eventLoop.makeSucceededFuture(head.uri == "/ws" ? HTTPHeaders() : nil)
                    },
                    upgradePipelineHandler: { channel, _ in
                        channel.eventLoop.makeCompletedFuture {
                            try channel.pipeline.syncOperations.addHandler(WebSocketEcho())
                        }
                    }
                )
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(
                        withServerUpgrade: (upgraders: [upgrader], completionHandler: { context in
                            let pipeline = context.pipeline.syncOperations
                            if let app = try? pipeline.handler(type: UpstreamAppHandler.self) {
                                pipeline.removeHandler(app, promise: nil)
                            }
                        })
                    )
                    try channel.pipeline.syncOperations.addHandler(UpstreamAppHandler())
                }
            }
            .bind(host: "127.0.0.1", port: 0)
            .get()
        let upstream = TestUpstream(channel: channel)
        box.withLockedValue { $0 = upstream }
        return upstream
    }

    private func accepted(_ channel: any Channel) {
        acceptedCount.withLockedValue { $0 += 1 }
        connections.withLockedValue { $0.append(channel) }
    }

    /// Closes every connection the upstream has accepted, as an upstream's keep-alive timeout would.
    func closeAllConnections() async {
        for channel in connections.withLockedValue({ $0 }) {
            try? await channel.close()
        }
    }

    func stop() async {
        await closeAllConnections()
        try? await channel.close()
    }
}

/// Patterned bodies: the byte at offset `i` is `i % 251`, so both ends check a body of any size
/// without storing it. One precomputed cycle keeps a debug build fast.
private let patternCycle: [UInt8] = (0..<(251 * 1_100)).map { UInt8($0 % 251) }

func patternBuffer(offset: Int, length: Int, allocator: ByteBufferAllocator = .init()) -> ByteBuffer {
    var buffer = allocator.buffer(capacity: length)
    var written = 0
    while written < length {
        let start = (offset + written) % 251
        let count = min(length - written, patternCycle.count - start)
        buffer.writeBytes(patternCycle[start..<start + count])
        written += count
    }
    return buffer
}

/// True when `buffer` holds the pattern from `offset` on.
func matchesPattern(_ buffer: ByteBuffer, offset: Int) -> Bool {
    buffer.withUnsafeReadableBytes { bytes in
        var checked = 0
        while checked < bytes.count {
            let start = (offset + checked) % 251
            let count = min(bytes.count - checked, patternCycle.count - start)
            let equal = patternCycle.withUnsafeBytes { cycle in
                memcmp(bytes.baseAddress! + checked, cycle.baseAddress! + start, count) == 0
            }
            if !equal { return false }
            checked += count
        }
        return true
    }
}

private final class UpstreamAppHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private var head: HTTPRequestHead?
    private var bodyBytes = 0
    private var bodyIntact = true
    private var downloadRemaining = 0
    private var downloadOffset = 0

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
            bodyBytes = 0
            bodyIntact = true
            if head.uri == "/close" { context.close(promise: nil) }
        case .body(let buffer):
            bodyIntact = bodyIntact && matchesPattern(buffer, offset: bodyBytes)
            bodyBytes += buffer.readableBytes
        case .end:
            guard let head else { return }
            respond(to: head, context: context)
        }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable, downloadRemaining > 0 { writeDownload(context: context) }
    }

    private func respond(to head: HTTPRequestHead, context: ChannelHandlerContext) {
        let path = String(head.uri.prefix(while: { $0 != "?" }))
        let query = head.uri.split(separator: "?").dropFirst().first.map(String.init) ?? ""
        let number = Int(query.split(separator: "=").last ?? "") ?? 0
        switch path {
        case _ where path.hasSuffix("/echo"):
            var text = "\(head.method.rawValue) \(head.uri)\n"
            for header in head.headers { text += "\(header.name.lowercased()): \(header.value)\n" }
            text += "body-bytes: \(bodyBytes)\n"
            send(text, context: context)
        case "/upload":
            send("received \(bodyBytes) \(bodyIntact ? "intact" : "corrupt")", context: context)
        case "/download":
            downloadRemaining = number
            downloadOffset = 0
            let headers: HTTPHeaders = ["Content-Length": "\(number)"]
            context.write(wrapOutboundOut(.head(.init(version: .http1_1, status: .ok, headers: headers))), promise: nil)
            writeDownload(context: context)
        case "/chunked":
            context.write(wrapOutboundOut(.head(.init(version: .http1_1, status: .ok))), promise: nil)
            for word in ["one ", "two ", "three"] {
                context.writeAndFlush(wrapOutboundOut(.body(.byteBuffer(.init(string: word)))), promise: nil)
            }
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        case "/slow":
            let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            context.eventLoop.scheduleTask(in: .milliseconds(Int64(number))) {
                let (handler, context) = loopBound.value
                handler.send("slow", context: context)
            }
        default:
            send("upstream has no \(path)", status: .notFound, context: context)
        }
    }

    private func writeDownload(context: ChannelHandlerContext) {
        while downloadRemaining > 0, context.channel.isWritable {
            let length = min(65_536, downloadRemaining)
            let chunk = patternBuffer(offset: downloadOffset, length: length, allocator: context.channel.allocator)
            context.write(wrapOutboundOut(.body(.byteBuffer(chunk))), promise: nil)
            downloadOffset += length
            downloadRemaining -= length
        }
        if downloadRemaining == 0 {
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        } else {
            context.flush()
        }
    }

    private func send(_ text: String, status: HTTPResponseStatus = .ok, context: ChannelHandlerContext) {
        let headers: HTTPHeaders = ["Content-Length": "\(text.utf8.count)", "Content-Type": "text/plain"]
        context.write(wrapOutboundOut(.head(.init(version: .http1_1, status: status, headers: headers))), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(.init(string: text)))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
    }
}

private final class WebSocketEcho: ChannelInboundHandler {
    typealias InboundIn = WebSocketFrame
    typealias OutboundOut = WebSocketFrame

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        switch frame.opcode {
        case .text, .binary:
            let reply = WebSocketFrame(fin: true, opcode: frame.opcode, data: frame.unmaskedData)
            context.writeAndFlush(wrapOutboundOut(reply), promise: nil)
        case .connectionClose:
            context.close(promise: nil)
        default:
            break
        }
    }
}

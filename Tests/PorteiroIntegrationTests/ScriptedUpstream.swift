#if canImport(Glibc)
import Glibc
#endif
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// An upstream that answers every request with scripted bytes, whatever they are, then hangs up: for
/// what no HTTP library would send (invalid status lines, bodies shorter than announced). With
/// `reset`, it hangs up with a TCP RST (SO_LINGER 0) instead of a FIN. The script can change while
/// it runs (the fault ends), and it counts the connections it holds open, so a test can see that
/// the gateway let go of them.
final class ScriptedUpstream: Sendable {
    let channel: any Channel
    var url: String { "http://127.0.0.1:\(channel.localAddress!.port!)" }
    var openConnections: Int { open.withLockedValue { $0 } }
    let script: NIOLockedValueBox<Script>
    private let open: NIOLockedValueBox<Int>

    struct Script {
        var reply: String
        var reset = false
    }

    static func start(_ script: Script) async throws -> ScriptedUpstream {
        let open = NIOLockedValueBox(0)
        let script = NIOLockedValueBox(script)
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                open.withLockedValue { $0 += 1 }
                channel.closeFuture.whenComplete { _ in open.withLockedValue { $0 -= 1 } }
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ScriptedReply(script: script))
                }
            }
            .bind(host: "127.0.0.1", port: 0)
            .get()
        return ScriptedUpstream(channel: channel, script: script, open: open)
    }

    private init(channel: any Channel, script: NIOLockedValueBox<Script>, open: NIOLockedValueBox<Int>) {
        self.channel = channel
        self.script = script
        self.open = open
    }

    func stop() async {
        try? await channel.close()
    }
}

/// Waits for the end of a request head, sends the scripted bytes and closes.
private final class ScriptedReply: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let script: NIOLockedValueBox<ScriptedUpstream.Script>
    private var received = ""

    init(script: NIOLockedValueBox<ScriptedUpstream.Script>) {
        self.script = script
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        received += String(buffer: unwrapInboundIn(data))
        guard received.contains("\r\n\r\n") else { return }
        received = ""
        let channel = context.channel
        let script = self.script.withLockedValue { $0 }
        context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: script.reply))).whenComplete { _ in
            guard script.reset, let socket = channel as? any SocketOptionProvider else {
                channel.close(promise: nil)
                return
            }
            socket.setSoLinger(linger(l_onoff: 1, l_linger: 0)).whenComplete { _ in channel.close(promise: nil) }
        }
    }
}

public import NIOCore
import Foundation
import NIOHTTP1
import NIOPosix

/// The demo's "legacy app": a plain page showing what an app behind Porteiro receives — the
/// request line and every header, the identity and forwarding headers first.
public enum SampleApp {
    /// Starts the app on a free loopback port; returns its bound channel.
    public static func start(group: any EventLoopGroup) async throws -> any Channel {
        try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(SampleAppHandler())
                }
            }
            .bind(host: "127.0.0.1", port: 0)
            .get()
    }
}

private final class SampleAppHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private var head: HTTPRequestHead?

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head): self.head = head
        case .body: break
        case .end:
            guard let head else { return }
            let page = Self.page(for: head)
            let headers: HTTPHeaders = ["Content-Type": "text/html; charset=utf-8", "Content-Length": "\(page.utf8.count)"]
            context.write(wrapOutboundOut(.head(.init(version: .http1_1, status: .ok, headers: headers))), promise: nil)
            context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(string: page)))), promise: nil)
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        }
    }

    static func page(for head: HTTPRequestHead) -> String {
        let important = head.headers.filter { $0.name.lowercased().hasPrefix("x-") || $0.name.lowercased() == "authorization" }
        let rows = { (headers: [(name: String, value: String)]) in
            headers.map { "<tr><th>\(escape($0.name))</th><td>\(escape($0.value))</td></tr>" }.joined()
        }
        return """
            <!doctype html><html lang="en"><head><meta charset="utf-8"><title>Sample legacy app</title>
            <style>body{font:15px system-ui,sans-serif;max-width:60em;margin:2em auto;padding:0 1em}
            th{text-align:left;padding-right:1em;vertical-align:top}td{font-family:monospace;word-break:break-all}</style>
            </head><body><h1>Sample legacy app</h1>
            <p>This app has no login of its own. Everything below was sent to it by Porteiro.</p>
            <p><code>\(escape(head.method.rawValue)) \(escape(head.uri))</code></p>
            <h2>Identity and forwarding headers</h2><table>\(rows(important.map { ($0.name, $0.value) }))</table>
            <h2>All headers</h2><table>\(rows(head.headers.map { ($0.name, $0.value) }))</table>
            <p><a href="/">Public page</a> · <a href="/private/">Private page (needs sign-in)</a></p>
            </body></html>
            """
    }

    private static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}


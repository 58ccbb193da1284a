import NIOCore
import NIOHTTP1

/// What the leased upstream connection reports, turned into events of the exchange state machine.
extension GatewayHandler: UpstreamResponseReceiver {
    var clientIsWritable: Bool { context?.channel.isWritable ?? false }

    func upstreamReceived(_ part: HTTPClientResponsePart) {
        switch part {
        case .head(let head): run(machine.upstreamHeadReceived(head))
        case .body(let buffer): run(machine.upstreamBodyReceived(buffer))
        case .end: run(machine.upstreamEndReceived())
        }
    }

    func upstreamReadComplete() {
        context?.flush()
    }

    func upstreamWritabilityChanged(isWritable: Bool) {
        guard isWritable else { return }
        run(machine.upstreamBecameWritable())
    }

    func upstreamClosed() {
        let wasReused = machine.connection?.isReused ?? false
        if let exchange = machine.proxyingExchange {
            logger.debug(
                "upstream connection closed during exchange",
                metadata: ["request_id": "\(exchange.requestID)", "reused": "\(wasReused)",
                           "response_started": "\(exchange.responseHeadReceived)"])
        }
        run(machine.upstreamClosed(wasReused: wasReused))
    }

    /// `101 Switching Protocols`: pass it on, then join both sockets byte for byte.
    func beginTunnel(_ head: HTTPResponseHead, exchange: ProxyExchange, connection: UpstreamConnection, context: ChannelHandlerContext) {
        // The receiver stays set: the decoder still delivers the `.end` of the 101 response, which
        // `.tunnelling` ignores (with no receiver the upstream handler would close the connection).
        recordRequest(exchange.log, status: 101, bytes: 0, upstream: exchange.route.upstreamName, requestID: exchange.requestID)
        let clientHead = settings.rewriter.clientResponse(head, clientKeepAlive: true, requestID: exchange.requestID)
        let client = context.channel
        let upstream = connection.channel
        let loop = context.eventLoop.assumeIsolated()
        let idleTimeout = TimeAmount(exchange.route.timeout)
        context.writeAndFlush(wrapOutboundOut(.head(clientHead))).assumeIsolated().whenComplete { result in
            // Joined on a later tick: this may run inside the upstream decoder's decode pass, and
            // the HTTP handlers must not be swapped out from under it.
            loop.execute {
                do {
                    try result.get()
                    try TunnelHandler.join(client: client, upstream: upstream, idleTimeout: idleTimeout)
                } catch {
                    client.close(promise: nil)
                    upstream.close(promise: nil)
                }
            }
        }
    }
}

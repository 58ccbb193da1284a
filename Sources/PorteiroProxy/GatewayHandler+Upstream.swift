import NIOCore
import NIOHTTP1
import PorteiroConfig

/// The upstream half of `GatewayHandler`: leasing a connection, streaming the request to it, and
/// streaming its response back.
extension GatewayHandler: UpstreamResponseReceiver {
    var clientIsWritable: Bool { context?.channel.isWritable ?? false }

    /// Sends a request part upstream, or keeps it until the connection is there.
    func forward(_ part: HTTPClientRequestPart) {
        switch state {
        case .connecting:
            exchange?.buffered.append(part)
        case .proxying:
            connection?.handler.write(part)
            upstreamNeedsFlush = true
        case .idle, .answering, .waiting, .collecting, .tunnelling, .closed:
            break
        }
    }

    func connectUpstream(fresh: Bool) {
        guard let exchange else { return }
        state = .connecting
        pool.lease(exchange.route.upstream, fresh: fresh) { [weak self] result in
            self?.leased(result)
        }
    }

    private func leased(_ result: Result<UpstreamConnection, any Error>) {
        guard case .connecting = state, let context, let exchange else {
            // The client left while we connected; the fresh connection can serve someone else.
            if case .success(let connection) = result { pool.release(connection, reusable: true) }
            return
        }
        switch result {
        case .failure(let error):
            if case ChannelError.connectTimeout = error {
                respondWithError(.gatewayTimeout, .appSlowToAccept, reason: "connect timed out")
            } else {
                respondWithError(.badGateway, .appUnreachable, reason: "\(error)")
            }
        case .success(let connection):
            logger.trace(
                "upstream connection leased",
                metadata: ["request_id": "\(exchange.requestID)", "connection": "\(connection.id)",
                           "reused": "\(connection.isReused)"])
            self.connection = connection
            connection.handler.receiver = self
            state = .proxying
            connection.handler.write(.head(exchange.upstreamHead))
            exchange.buffered.forEach(connection.handler.write)
            self.exchange?.buffered = []
            connection.handler.flush()
            if exchange.requestComplete { armResponseTimeout() }
            if readPending, connection.channel.isWritable {
                readPending = false
                context.read()
            }
        }
    }

    func upstreamReceived(_ part: HTTPClientResponsePart) {
        guard case .proxying = state, let context, var exchange else { return }
        switch part {
        case .head(let head):
            exchange.timeout?.cancel()
            exchange.responseHeadReceived = true
            exchange.status = head.status.code
            exchange.upstreamKeepAlive = head.isKeepAlive
            self.exchange = exchange
            settings.metrics(for: exchange.log).upstreamResponded(afterNanoseconds: (.now() - exchange.log.start).nanoseconds)
            if head.status == .switchingProtocols {
                guard let upgrade = exchange.upgrade, upgrade.accepts(head) else {
                    return refuseUpstreamResponse(.appSwitchedProtocols, reason: "101 Switching Protocols that answers no WebSocket handshake")
                }
                return beginTunnel(head, context: context)
            }
            guard (200...599).contains(head.status.code) else {
                // The client would get a status line no HTTP client can read (`011`, `999`).
                return refuseUpstreamResponse(.appUnreachable, reason: "invalid response status \(head.status.code)")
            }
            var clientHead = settings.rewriter.clientResponse(
                head, clientKeepAlive: exchange.clientKeepAlive && exchange.requestComplete, requestID: exchange.requestID)
            for cookie in exchange.responseCookies { clientHead.headers.add(name: "Set-Cookie", value: cookie) }
            context.write(wrapOutboundOut(.head(clientHead)), promise: nil)
        case .body(let buffer):
            exchange.responseBytes += buffer.readableBytes
            self.exchange = exchange
            context.write(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
        case .end:
            exchange.responseComplete = true
            self.exchange = exchange
            // Flushed here, not at read-complete: an `.end` decoded at the upstream's EOF
            // (HTTP/1.0, close-delimited bodies) is followed by no read-complete.
            let keepAlive = exchange.clientKeepAlive && exchange.requestComplete
            completeExchange(keepAlive: keepAlive)
            // An app's trailer fields are not passed on: a `Set-Cookie` there would escape the
            // filtering its head went through.
            let written = context.writeAndFlush(wrapOutboundOut(.end(nil)))
            afterFinalWrite(keepAlive: keepAlive, written: written, context: context)
        }
    }

    /// A response head Porteiro will not pass on — a `101` that answers no WebSocket handshake of
    /// this request (what follows would be raw bytes Porteiro cannot check), a status outside
    /// 200–599: the upstream connection is dropped and the client gets 502.
    private func refuseUpstreamResponse(_ text: PageText, reason: String) {
        guard let connection else { return }
        self.connection = nil
        connection.handler.receiver = nil
        connection.channel.close(promise: nil)
        self.exchange?.responseHeadReceived = false
        respondWithError(.badGateway, text, reason: reason)
    }

    func upstreamReadComplete() {
        context?.flush()
    }

    func upstreamWritabilityChanged(isWritable: Bool) {
        guard isWritable, readPending, let context else { return }
        readPending = false
        context.read()
    }

    func upstreamClosed() {
        guard case .proxying = state, var exchange, let connection, let context else { return }
        self.connection = nil
        exchange.timeout?.cancel()
        exchange.timeout = nil
        logger.debug(
            "upstream connection closed during exchange",
            metadata: ["request_id": "\(exchange.requestID)", "reused": "\(connection.isReused)",
                       "response_started": "\(exchange.responseHeadReceived)"])
        if exchange.canRetry(onReused: connection.isReused) {
            exchange.retried = true
            exchange.buffered = exchange.requestComplete ? [.end(nil)] : []
            self.exchange = exchange
            return connectUpstream(fresh: true)
        }
        self.exchange = exchange
        if !exchange.responseHeadReceived {
            respondWithError(.badGateway, .appHungUp, reason: "closed the connection before answering")
        } else {
            // Cut mid-body: closing tells the client the response is incomplete.
            logger.warning("upstream closed mid-response", metadata: ["request_id": "\(exchange.requestID)"])
            state = .closed
            context.close(promise: nil)
        }
    }

    private func completeExchange(keepAlive: Bool) {
        guard let exchange, let connection else { return }
        self.connection = nil
        pool.release(connection, reusable: exchange.upstreamKeepAlive && exchange.requestComplete)
        recordRequest(
            exchange.log, status: exchange.status, bytes: exchange.responseBytes,
            upstream: exchange.route.upstreamName, requestID: exchange.requestID)
        settleAfterResponse(keepAlive: keepAlive)
    }

    /// An error page in place of the upstream's response, which never started.
    func respondWithError(_ status: HTTPResponseStatus, _ text: PageText, reason: String) {
        guard let context, let exchange else { return }
        logger.error(
            "upstream failed",
            metadata: [
                "request_id": "\(exchange.requestID)", "status": "\(status.code)",
                "upstream": "\(exchange.route.upstream)", "error": "\(reason)",
            ])
        let page = settings.pages.error(status, text, requestID: exchange.requestID, request: exchange.clientHeaders)
        state = .answering(page, exchange.log, requestID: exchange.requestID, keepAlive: false)
        writeLocal(page, log: exchange.log, requestID: exchange.requestID,
                   keepAlive: exchange.clientKeepAlive && exchange.requestComplete, context: context,
                   upstream: exchange.route.upstreamName)
    }

    func armResponseTimeout() {
        guard let context, let exchange, !exchange.responseHeadReceived, exchange.timeout == nil else { return }
        self.exchange?.timeout = context.eventLoop.assumeIsolated().scheduleTask(in: TimeAmount(exchange.route.timeout)) {
            [weak self] in
            self?.responseTimedOut()
        }
    }

    private func responseTimedOut() {
        guard case .proxying = state, let exchange, !exchange.responseHeadReceived, let connection else { return }
        self.connection = nil
        connection.handler.receiver = nil
        connection.channel.close(promise: nil)
        respondWithError(
            .gatewayTimeout, .appSilent,
            reason: "no response within \(ConfigDuration.format(exchange.route.timeout)) (routes[\(exchange.route.index)].timeout)")
    }

    /// The client went away or the connection failed: drop the upstream side too.
    func abandonExchange() {
        exchange?.timeout?.cancel()
        exchange = nil
        guard let connection else { return }
        self.connection = nil
        connection.handler.receiver = nil
        connection.channel.close(promise: nil)
    }

    /// `101 Switching Protocols`: pass it on, then join both sockets byte for byte.
    private func beginTunnel(_ head: HTTPResponseHead, context: ChannelHandlerContext) {
        guard let exchange, let connection else { return }
        // The receiver stays set: the decoder still delivers the `.end` of the 101 response, which
        // `.tunnelling` ignores (with no receiver the upstream handler would close the connection).
        state = .tunnelling
        self.connection = nil
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

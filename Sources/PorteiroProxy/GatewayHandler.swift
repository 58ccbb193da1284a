#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Logging
import NIOCore
import NIOHTTP1

/// The per-connection handler of the client side. It turns NIO's callbacks into events of an
/// `ExchangeStateMachine`, which decides, and performs the actions it returns: a local answer, a
/// lease from the upstream pool of this event loop, parts streamed both ways with backpressure and
/// no task or thread hop. What each request head means is decided in `GatewayHandler+Decision`.
final class GatewayHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart
    typealias Machine = ExchangeStateMachine<UpstreamConnection>

    /// The settings of the current request; read from `settingsBox` at each request head.
    var settings: GatewaySettings
    let settingsBox: GatewaySettingsBox
    let pool: UpstreamConnectionPool
    let logger: Logger
    let readiness: Readiness
    var machine = Machine()
    var context: ChannelHandlerContext?
    var peer = HeaderRewriter.Peer(address: "unknown", isTrusted: false, isTLS: false)
    /// The peer's address bytes, to check against `trusted_proxies` again after a reload.
    var peerBytes: [UInt8] = []
    var upstreamNeedsFlush = false
    /// A connection's idle timeout and an exchange's response timeout, each one lazily
    /// rescheduled task (`DeadlineTimer`): a busy connection schedules nothing per request.
    var idleTimer = DeadlineTimer()
    var idleTask: Scheduled<Void>?
    var responseTimer = DeadlineTimer()
    var responseTask: Scheduled<Void>?
    /// The exchange the response timer runs for.
    var responseTimerExchange = 0
    var requestIDs = RequestIDGenerator()
    /// The last session this connection opened: a browser sends the same cookies with every
    /// request, and comparing them costs far less than opening them (base64, AES-GCM, inflate).
    var sessionMemo: SessionMemo?
    /// True while this connection is counted in `porteiro_open_connections`.
    var countedAsOpen = false

    init(settings: GatewaySettingsBox, pool: UpstreamConnectionPool, readiness: Readiness, isTLS: Bool, logger: Logger) {
        self.peer.isTLS = isTLS
        self.settingsBox = settings
        self.settings = settings.current
        self.pool = pool
        self.readiness = readiness
        self.logger = logger
    }

    // MARK: Connection events

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        if context.channel.isActive { connectionBecameActive(context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        connectionBecameActive(context)
        context.fireChannelActive()
    }

    private func connectionBecameActive(_ context: ChannelHandlerContext) {
        if !countedAsOpen {
            countedAsOpen = true
            settings.metrics.openConnections.increment()
        }
        let address = context.channel.remoteAddress
        peerBytes = address?.rawIPBytes ?? []
        peer.address = address?.ipAddress ?? "unknown"
        peer.isTrusted = settings.trustedProxies.contains { $0.contains(peerBytes) }
        armIdleTimer()
    }

    /// Also the end of a connection: NIO removes every handler when a channel closes, and a
    /// WebSocket tunnel removes this one early (its channel then never reaches `channelInactive` here).
    func handlerRemoved(context: ChannelHandlerContext) {
        if countedAsOpen { settings.metrics.openConnections.decrement() }
        countedAsOpen = false
        idleTask?.cancel()
        responseTask?.cancel()
        self.context = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            guard machine.requestHeadReceived() else { return }
            setDeadline(.idle, nil)
            receivedHead(head, context: context)
        case .body(let buffer):
            run(machine.requestBodyReceived(buffer))
        case .end:
            run(machine.requestEndReceived())
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        if upstreamNeedsFlush {
            upstreamNeedsFlush = false
            machine.connection?.handler.flush()
        }
        context.fireChannelReadComplete()
    }

    func read(context: ChannelHandlerContext) {
        run(machine.readRequested(upstreamIsWritable: machine.connection?.channel.isWritable ?? true))
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable { machine.connection?.handler.resumeReading() }
        context.fireChannelWritabilityChanged()
    }

    func channelInactive(context: ChannelHandlerContext) {
        abandon(machine.clientClosed())
        idleTask?.cancel()
        responseTask?.cancel()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if let parserError = error as? HTTPParserError, machine.canAnswerUnreadable {
            let status: HTTPResponseStatus = parserError == .headerOverflow ? .requestHeaderFieldsTooLarge : .badRequest
            let requestID = requestIDs.next()
            let page = settings.pages.error(status, .unreadable, requestID: requestID, request: [:])
            logger.notice("rejected unreadable request", metadata: ["request_id": "\(requestID)", "status": "\(status.code)"])
            let channel = context.channel
            writeResponse(page, keepAlive: false, context: context).assumeIsolated().whenComplete { _ in
                channel.close(promise: nil)
            }
        } else if let parserError = error as? HTTPParserError, parserError == .closedConnection {
            // Bytes after a request that said `Connection: close`: they are dropped, and the answer to
            // that request still goes out before the connection closes.
            return
        } else {
            context.close(promise: nil)
        }
        abandon(machine.clientClosed())
    }

    // MARK: Performing what the machine decided

    /// Performs one action of the state machine.
    func run(_ action: Machine.Action) {
        guard let context else {
            // The handler has left the pipeline: only connections can still be handed back.
            switch action {
            case .releaseUnused(let connection), .sendRequest(_, _, let connection, _, _):
                pool.release(connection, reusable: true)
            default:
                break
            }
            return
        }
        switch action {
        case .none:
            break
        case .read:
            context.read()
        case .writeAnswer(let answer):
            write(answer, context: context)
        case .lease(let exchange, let fresh):
            setDeadline(.response, nil)
            pool.lease(exchange.route.upstream, fresh: fresh) { [weak self] result in
                self?.leased(result)
            }
        case .releaseUnused(let connection):
            pool.release(connection, reusable: true)
        case .sendRequest(let exchange, let parts, let connection, let timer, let read):
            logger.trace(
                "upstream connection leased",
                metadata: ["request_id": "\(exchange.requestID)", "connection": "\(connection.id)", "reused": "\(connection.isReused)"])
            connection.handler.receiver = self
            connection.handler.write(.head(exchange.upstreamHead))
            parts.forEach(connection.handler.write)
            connection.handler.flush()
            arm(timer, context: context)
            if read { context.read() }
        case .forward(let part, let connection, let timer):
            connection.handler.write(part)
            upstreamNeedsFlush = true
            arm(timer, context: context)
        case .writeResponseHead(let head, let exchange):
            setDeadline(.response, nil)
            settings.metrics(for: exchange.log).upstreamResponded(afterNanoseconds: (.now() - exchange.log.start).nanoseconds)
            var clientHead = settings.rewriter.clientResponse(
                head, clientKeepAlive: exchange.clientKeepAlive && exchange.requestComplete, requestID: exchange.requestID)
            for cookie in exchange.responseCookies { clientHead.headers.add(name: "Set-Cookie", value: cookie) }
            context.write(wrapOutboundOut(.head(clientHead)), promise: nil)
        case .writeResponseBody(let buffer):
            context.write(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
        case .finishResponse(let exchange, let connection, let reusable, let keepAlive):
            pool.release(connection, reusable: reusable)
            recordRequest(exchange.log, status: exchange.status, bytes: exchange.responseBytes,
                          upstream: exchange.route.upstreamName, requestID: exchange.requestID)
            if keepAlive { armIdleTimer() }
            // Flushed here, not at read-complete: an `.end` decoded at the upstream's EOF
            // (HTTP/1.0, close-delimited bodies) is followed by no read-complete.
            let written = context.writeAndFlush(wrapOutboundOut(.end(nil)))
            afterFinalWrite(keepAlive: keepAlive, written: written, context: context)
        case .fail(let failure, let exchange, let closing, let keepAlive):
            setDeadline(.response, nil)
            abandon(closing)
            fail(failure, exchange, keepAlive: keepAlive, context: context)
        case .cutShort(let exchange):
            setDeadline(.response, nil)
            logger.warning("upstream closed mid-response", metadata: ["request_id": "\(exchange.requestID)"])
            context.close(promise: nil)
        case .tunnel(let head, let exchange, let connection):
            setDeadline(.response, nil)
            beginTunnel(head, exchange: exchange, connection: connection, context: context)
        case .submitForm(let form):
            submitLogoutForm(form)
        case .close(let connection):
            abandon(connection)
            context.close(promise: nil)
        }
    }

    /// Counts, logs and writes a local answer; closes after it unless it keeps the connection.
    private func write(_ answer: LocalAnswer, context: ChannelHandlerContext) {
        recordRequest(answer.request.log, status: answer.response.status.code, bytes: answer.response.body.utf8.count,
                      upstream: answer.upstream, requestID: answer.request.requestID)
        if answer.keepAlive { armIdleTimer() }
        let written = writeResponse(answer.response, keepAlive: answer.keepAlive, context: context)
        afterFinalWrite(keepAlive: answer.keepAlive, written: written, context: context)
    }

    @discardableResult
    func writeResponse(_ response: LocalResponse, keepAlive: Bool, context: ChannelHandlerContext) -> EventLoopFuture<Void> {
        var headers = response.headers
        headers.replaceOrAdd(name: "Content-Length", value: String(response.body.utf8.count))
        if !keepAlive { headers.replaceOrAdd(name: "Connection", value: "close") }
        let buffer = context.channel.allocator.buffer(string: response.body)
        let head = HTTPResponseHead(version: .http1_1, status: response.status, headers: headers)
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
        return context.writeAndFlush(wrapOutboundOut(.end(nil)))
    }

    /// After the final `.end` (which may have delivered the next pipelined request re-entrantly):
    /// close once it is on the wire (closing earlier would discard what is still queued), or let
    /// a held read through.
    private func afterFinalWrite(keepAlive: Bool, written: EventLoopFuture<Void>, context: ChannelHandlerContext) {
        guard keepAlive else {
            let channel = context.channel
            written.assumeIsolated().whenComplete { _ in channel.close(promise: nil) }
            return
        }
        run(machine.answerWritten())
    }

    /// An error page in place of the upstream's response, which never started.
    private func fail(_ failure: ExchangeFailure, _ exchange: ProxyExchange, keepAlive: Bool, context: ChannelHandlerContext) {
        logger.error(
            "upstream failed",
            metadata: [
                "request_id": "\(exchange.requestID)", "status": "\(failure.status.code)",
                "upstream": "\(exchange.route.upstream)", "error": "\(failure.reason)",
            ])
        let page = settings.pages.error(failure.status, failure.text, requestID: exchange.requestID, request: exchange.clientHeaders)
        write(LocalAnswer(response: page, request: exchange.request, keepAlive: keepAlive, upstream: exchange.route.upstreamName),
              context: context)
    }

    private func leased(_ result: Result<UpstreamConnection, any Error>) {
        switch result {
        case .success(let connection):
            run(machine.leased(connection, isWritable: connection.channel.isWritable))
        case .failure(ChannelError.connectTimeout):
            run(machine.leaseFailed(ExchangeFailure(status: .gatewayTimeout, text: .appSlowToAccept, reason: "connect timed out")))
        case .failure(let error):
            run(machine.leaseFailed(ExchangeFailure(status: .badGateway, text: .appUnreachable, reason: "\(error)")))
        }
    }

    /// Drops an upstream connection this client no longer uses; it reports nothing more here.
    private func abandon(_ connection: UpstreamConnection?) {
        guard let connection else { return }
        connection.handler.receiver = nil
        connection.channel.close(promise: nil)
    }

    private func arm(_ timer: Machine.ResponseTimer?, context: ChannelHandlerContext) {
        guard let timer else { return }
        responseTimerExchange = timer.exchange
        setDeadline(.response, context.eventLoop.now + TimeAmount(timer.after))
    }

    private func armIdleTimer() {
        guard let context else { return }
        setDeadline(.idle, context.eventLoop.now + TimeAmount(settings.idleTimeout))
    }

    enum TimerKind { case idle, response }

    private func setDeadline(_ kind: TimerKind, _ deadline: NIODeadline?) {
        let scheduleFor = kind == .idle ? idleTimer.set(deadline) : responseTimer.set(deadline)
        if let scheduleFor { schedule(kind, at: scheduleFor) }
    }

    private func schedule(_ kind: TimerKind, at deadline: NIODeadline) {
        guard let context else { return }
        let task = context.eventLoop.assumeIsolated().scheduleTask(deadline: deadline) { [weak self] in
            guard let self else { return }
            self.timerTaskRan(kind, scheduledFor: deadline)
        }
        switch kind {
        case .idle:
            idleTask?.cancel()
            idleTask = task
        case .response:
            responseTask?.cancel()
            responseTask = task
        }
    }

    private func timerTaskRan(_ kind: TimerKind, scheduledFor: NIODeadline) {
        guard let context else { return }
        let now = context.eventLoop.now
        let outcome = kind == .idle
            ? idleTimer.taskRan(scheduledFor: scheduledFor, now: now) : responseTimer.taskRan(scheduledFor: scheduledFor, now: now)
        switch outcome {
        case .expired where kind == .idle:
            run(machine.idleTimerFired())
        case .expired:
            run(machine.responseTimedOut(exchange: responseTimerExchange))
        case .reschedule(let next):
            schedule(kind, at: next)
        case .nothing:
            break
        }
    }
}

/// Who a connection's last `Cookie` header(s) said was signed in, reusable until `user.reusableUntil`.
struct SessionMemo {
    let cookies: [String]
    /// The provider whose session it is: the same cookies mean no one at another provider's route.
    let provider: Int
    let user: SignedInUser
}

/// Seconds since 1970, for session and token expiry.
func unixNow() -> Int64 {
    Int64(time(nil))
}

extension SocketAddress {
    /// The address bytes (4 or 16), for matching against `trusted_proxies`.
    var rawIPBytes: [UInt8] {
        switch self {
        case .v4(let address):
            return withUnsafeBytes(of: address.address.sin_addr) { Array($0) }
        case .v6(let address):
            return withUnsafeBytes(of: address.address.sin6_addr) { Array($0) }
        case .unixDomainSocket:
            return []
        }
    }
}

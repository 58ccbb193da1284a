#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Logging
import NIOCore
import NIOHTTP1
import PorteiroRouting

/// The per-connection handler of the client side: decides each request (local answer, refusal or
/// proxy), then streams it to a pooled upstream connection on the same event loop and streams the
/// response back, with backpressure both ways and no task or thread hop.
final class GatewayHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    enum State {
        /// Between requests; the idle timer runs. → `.answering`, `.connecting`, `.closed`.
        case idle
        /// A local answer waits for the request's `.end` (a body-less request; a request with a
        /// body is answered at once and the connection closed). → `.idle`, `.closed`.
        case answering(LocalResponse, AccessLogEntry, requestID: String, keepAlive: Bool)
        /// Waiting for the authenticator (login endpoints); reads held. → `.answering`, `.idle`, `.closed`.
        case waiting(AccessLogEntry, requestID: String, keepAlive: Bool)
        /// Reading a back-channel logout's form body, up to a limit. → `.waiting`, `.closed`.
        case collecting(LogoutForm)
        /// An upstream connection is being leased, or a session refreshed; client reads are held.
        /// → `.proxying`, `.answering`, `.closed`.
        case connecting
        /// Parts flow both ways. → `.idle`, `.connecting` (retry), `.tunnelling`, `.closed`.
        case proxying
        /// After `101 Switching Protocols` this handler is leaving the pipeline.
        case tunnelling
        case closed
    }

    /// The settings of the current request; read from `settingsBox` at each request head.
    var settings: GatewaySettings
    let settingsBox: GatewaySettingsBox
    let pool: UpstreamConnectionPool
    let logger: Logger
    let readiness: Readiness
    var state = State.idle
    var exchange: ProxyExchange?
    var connection: UpstreamConnection?
    var context: ChannelHandlerContext?
    var peer = HeaderRewriter.Peer(address: "unknown", isTrusted: false, isTLS: false)
    /// The peer's address bytes, to check against `trusted_proxies` again after a reload.
    var peerBytes: [UInt8] = []
    /// A `read` held back while no upstream can take the bytes.
    var readPending = false
    var upstreamNeedsFlush = false
    var idleTimer: Scheduled<Void>?
    var requestIDs = RequestIDGenerator()
    /// False between a request's head and its `.end`.
    var requestEnded = true
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
        idleTimer?.cancel()
        self.context = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            idleTimer?.cancel()
            requestEnded = false
            receivedHead(head, context: context)
        case .body(var buffer):
            if case .collecting(var form) = state {
                state = .closed  // no copy of the buffer while it grows
                form.body.writeBuffer(&buffer)
                return collected(form, context: context)
            }
            forward(.body(.byteBuffer(buffer)))
        case .end:
            requestEnded = true
            if case .collecting(let form) = state { return submitLogoutForm(form) }
            exchange?.requestComplete = true
            // A client's trailer fields never reach the app: some servers merge them into the
            // headers, where `X-Forwarded-User: admin` would pass every rule above.
            forward(.end(nil))
            if case .answering(let response, let log, let requestID, let keepAlive) = state {
                writeLocal(response, log: log, requestID: requestID, keepAlive: keepAlive, context: context)
            } else if case .proxying = state {
                armResponseTimeout()
            }
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        if upstreamNeedsFlush {
            upstreamNeedsFlush = false
            connection?.handler.flush()
        }
        context.fireChannelReadComplete()
    }

    func read(context: ChannelHandlerContext) {
        switch state {
        case .connecting, .waiting:
            readPending = true
        case .proxying where connection?.channel.isWritable == false:
            readPending = true
        default:
            context.read()
        }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable { connection?.handler.resumeReading() }
        context.fireChannelWritabilityChanged()
    }

    func channelInactive(context: ChannelHandlerContext) {
        abandonExchange()
        state = .closed
        idleTimer?.cancel()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if let parserError = error as? HTTPParserError, case .idle = state {
            let status: HTTPResponseStatus = parserError == .headerOverflow ? .requestHeaderFieldsTooLarge : .badRequest
            let requestID = requestIDs.next()
            let page = settings.pages.error(status, .unreadable, requestID: requestID, request: [:])
            logger.notice("rejected unreadable request", metadata: ["request_id": "\(requestID)", "status": "\(status.code)"])
            let channel = context.channel
            writeResponse(page, keepAlive: false, context: context).assumeIsolated().whenComplete { _ in
                channel.close(promise: nil)
            }
        } else {
            context.close(promise: nil)
        }
        abandonExchange()
        state = .closed
    }

    // MARK: Deciding a request

    private func receivedHead(_ head: HTTPRequestHead, context: ChannelHandlerContext) {
        let current = settingsBox.current
        if current !== settings {
            // A reload may have removed this peer from `trusted_proxies`: trust is not kept past it.
            settings = current
            peer.isTrusted = settings.trustedProxies.contains { $0.contains(peerBytes) }
        }
        let requestID = RequestIDGenerator.accepted(from: head.headers, peer: peer) ?? requestIDs.next()
        var log = AccessLogEntry(method: head.method, start: .now())
        func refuse(_ status: HTTPResponseStatus, _ text: PageText, headers: HTTPHeaders = [:]) {
            let page = settings.pages.error(status, text, requestID: requestID, request: head.headers, extraHeaders: headers)
            answer(page, head: head, log: log, requestID: requestID, context: context)
        }

        if let (status, message) = RequestFraming.problem(in: head, maxHeaderCount: settings.maxHeaderCount) {
            return refuse(status, message)
        }
        log.host = head.headers.first(name: "host")
        guard case .success(let target) = RequestTarget.parse(head.uri) else {
            return refuse(.badRequest, .badPath)
        }
        if let authority = target.authority, !RequestFraming.sameHost(authority, head.headers.first(name: "host")) {
            return refuse(.badRequest, .oneHost)
        }
        log.path = target.routingPath
        // Porteiro's own paths match only as written: `/oauth2/auth;x` is no `/oauth2/auth` to the
        // front proxy that keeps `/oauth2/auth` internal, so it is none here either.
        if target.hasParameters, isOwnPath(target.routingPath) {
            return refuse(.badRequest, .badPath)
        }
        if let health = HealthEndpoint(path: target.routingPath) {
            let ready = readiness.isReady && (settings.authenticator?.isReady ?? true)
            return answer(health.response(isReady: ready), head: head, log: log, requestID: requestID, context: context)
        }
        if let path = settings.metricsPath, target.routingPath == path {
            return answer(.metrics(settings.metrics), head: head, log: log, requestID: requestID, context: context)
        }
        // Built only where login is involved: public routes skip the clock read and the copy.
        let request = { AuthRequest(method: head.method, headers: head.headers, target: target, requestID: requestID, now: unixNow()) }
        if let authenticator = settings.authenticator, target.routingPath.hasPrefix("/oauth2/") {
            switch target.routingPath {
            case Self.forwardAuthPath:
                return forwardAuth(head, request: request(), authenticator: authenticator, log: log, context: context)
            case Self.userinfoPath:
                return userinfo(head, request: request(), authenticator: authenticator, log: log, context: context)
            case Self.backchannelLogoutPath where head.method == .POST:
                state = .collecting(LogoutForm(head: head, request: request(), log: log, authenticator: authenticator))
                return
            case Self.backchannelLogoutPath:
                return refuse(.methodNotAllowed, .methodNotAllowed, headers: ["Allow": "POST"])
            default:
                if let endpoint = AuthEndpoint(rawValue: target.routingPath) {
                    return runEndpoint(endpoint, request: request(), authenticator: authenticator, head: head, log: log)
                }
            }
        }
        let route: Route
        switch settings.routes.lookup(host: head.headers.first(name: "host") ?? target.authority, target: target) {
        case .route(let found):
            route = found
        case .none:
            return refuse(.notFound, .noRoute)
        case .ambiguous:
            logger.notice("path read differently by different servers", metadata: ["request_id": "\(requestID)"])
            return refuse(.badRequest, .badPath)
        }
        log.routeIndex = route.index
        if route.isDirectoryWithoutSlash(target.routingPath) {
            let location = target.routingPath + "/" + target.query
            let status: HTTPResponseStatus = head.method == .GET || head.method == .HEAD ? .movedPermanently : .permanentRedirect
            let redirect = LocalResponse(status: status, headers: ["Location": location, "Cache-Control": "no-store"], body: "")
            return answer(redirect, head: head, log: log, requestID: requestID, context: context)
        }
        if let methods = route.methods, !methods.contains(head.method.rawValue) {
            return refuse(.methodNotAllowed, .methodNotAllowed, headers: ["Allow": methods.sorted().joined(separator: ", ")])
        }
        if route.auth == .none || route.skipsAuth(method: head.method.rawValue, target: target) {
            return proxy(head, route: route, target: target, identity: nil, requestID: requestID, log: log, context: context)
        }
        authorize(head, route: route, target: target, request: request(), log: log, context: context)
    }

    /// A path Porteiro answers itself: health, metrics, and `/oauth2/…` when login is configured.
    private func isOwnPath(_ path: String) -> Bool {
        HealthEndpoint(path: path) != nil || path == settings.metricsPath
            || (settings.authenticator != nil && path.hasPrefix("/oauth2/"))
    }

    /// Starts proxying: rewrites the head and leases an upstream connection (unless `connect` is
    /// false because a session refresh must finish first; the exchange then waits in `.connecting`).
    func proxy(
        _ head: HTTPRequestHead, route: Route, target: RequestTarget, identity: SignedInUser?, requestID: String,
        log: AccessLogEntry, context: ChannelHandlerContext, connect: Bool = true
    ) {
        let upgrade = WebSocketUpgrade(head)
        let upstreamHead = settings.rewriter.upstreamRequest(
            head, route: route, target: target, peer: peer, requestID: requestID, upgrade: upgrade, identity: identity)
        if head.headers.first(name: "expect")?.lowercased() == "100-continue" {
            context.writeAndFlush(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: .continue))), promise: nil)
        }
        exchange = ProxyExchange(
            requestID: requestID, route: route, upstreamHead: upstreamHead, clientHead: head,
            upgrade: upgrade, log: log)
        exchange?.responseCookies = identity?.setCookies ?? []
        if connect {
            connectUpstream(fresh: false)
        } else {
            state = .connecting
        }
    }

    /// Answers locally: at once when the request has ended (an answer after an async hop) or when
    /// a body may follow (then the connection closes, so an unread body never becomes the next
    /// request), else when the request's `.end` arrives.
    func answer(
        _ response: LocalResponse, head: HTTPRequestHead, log: AccessLogEntry, requestID: String,
        context: ChannelHandlerContext
    ) {
        if requestEnded {
            writeLocal(response, log: log, requestID: requestID, keepAlive: head.isKeepAlive, context: context)
        } else if RequestFraming.hasBody(head.headers) {
            writeLocal(response, log: log, requestID: requestID, keepAlive: false, context: context)
        } else {
            state = .answering(response, log, requestID: requestID, keepAlive: head.isKeepAlive)
        }
    }

    /// `upstream` names the app when this is an error page in place of its response.
    func writeLocal(
        _ response: LocalResponse, log: AccessLogEntry, requestID: String, keepAlive: Bool,
        context: ChannelHandlerContext, upstream: String? = nil
    ) {
        recordRequest(log, status: response.status.code, bytes: response.body.utf8.count, upstream: upstream, requestID: requestID)
        settleAfterResponse(keepAlive: keepAlive)
        let written = writeResponse(response, keepAlive: keepAlive, context: context)
        afterFinalWrite(keepAlive: keepAlive, written: written, context: context)
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

    /// Moves to the state after a response, *before* its final `.end` is written: that write lets
    /// NIO's pipelining handler deliver the next buffered request re-entrantly, which must find
    /// this handler idle, not half-way through the previous exchange.
    func settleAfterResponse(keepAlive: Bool) {
        exchange = nil
        if keepAlive {
            state = .idle
            armIdleTimer()
        } else {
            state = .closed
        }
    }

    /// After the final `.end`: close once it is on the wire (closing earlier would discard what
    /// is still queued), or let a held read through.
    func afterFinalWrite(keepAlive: Bool, written: EventLoopFuture<Void>, context: ChannelHandlerContext) {
        guard keepAlive else {
            let channel = context.channel
            written.assumeIsolated().whenComplete { _ in channel.close(promise: nil) }
            return
        }
        if readPending, case .idle = state {
            readPending = false
            context.read()
        }
    }

    private func armIdleTimer() {
        idleTimer?.cancel()
        guard let context else { return }
        idleTimer = context.eventLoop.assumeIsolated().scheduleTask(in: TimeAmount(settings.idleTimeout)) { [weak self] in
            guard let self, case .idle = self.state else { return }
            self.state = .closed
            self.context?.close(promise: nil)
        }
    }
}

/// Who a connection's last `Cookie` header(s) said was signed in, reusable until `user.reusableUntil`.
struct SessionMemo {
    let cookies: [String]
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

import NIOCore
import NIOHTTP1
import PorteiroRouting

/// What a request head means: a refusal, one of Porteiro's own endpoints, or a route to proxy
/// (after authentication where the route asks for it). Each outcome becomes one event of the
/// state machine: `answer`, `proxy`, `awaitAnswer` or `collect`.
extension GatewayHandler {
    func receivedHead(_ head: HTTPRequestHead, context: ChannelHandlerContext) {
        let current = settingsBox.current
        if current !== settings {
            // A reload may have removed this peer from `trusted_proxies`: trust is not kept past it.
            settings = current
            peer.isTrusted = settings.trustedProxies.contains { $0.contains(peerBytes) }
        }
        let requestID = RequestIDGenerator.accepted(from: head.headers, peer: peer) ?? requestIDs.next()
        var request = GatewayRequest(head: head, requestID: requestID, log: AccessLogEntry(method: head.method, start: .now()))
        func refuse(_ status: HTTPResponseStatus, _ text: PageText, headers: HTTPHeaders = [:]) {
            let page = settings.pages.error(status, text, requestID: requestID, request: head.headers, extraHeaders: headers)
            answer(page, to: request)
        }

        if let (status, message) = RequestFraming.problem(in: head, maxHeaderCount: settings.maxHeaderCount) {
            return refuse(status, message)
        }
        request.log.host = head.headers.first(name: "host")
        guard case .success(let target) = RequestTarget.parse(head.uri) else {
            return refuse(.badRequest, .badPath)
        }
        if let authority = target.authority, !RequestFraming.sameHost(authority, head.headers.first(name: "host")) {
            return refuse(.badRequest, .oneHost)
        }
        request.log.path = target.routingPath
        // Porteiro's own paths match only as written: `/oauth2/auth;x` is no `/oauth2/auth` to the
        // front proxy that keeps `/oauth2/auth` internal, so it is none here either.
        if target.hasParameters, isOwnPath(target.routingPath) {
            return refuse(.badRequest, .badPath)
        }
        if handledAsOwnEndpoint(request, target: target) { return }
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
        request.log.routeIndex = route.index
        if route.isDirectoryWithoutSlash(target.routingPath) {
            let location = target.routingPath + "/" + target.query
            let status: HTTPResponseStatus = head.method == .GET || head.method == .HEAD ? .movedPermanently : .permanentRedirect
            return answer(LocalResponse(status: status, headers: ["Location": location, "Cache-Control": "no-store"], body: ""), to: request)
        }
        if let methods = route.methods, !methods.contains(head.method.rawValue) {
            return refuse(.methodNotAllowed, .methodNotAllowed, headers: ["Allow": methods.sorted().joined(separator: ", ")])
        }
        if route.auth == .none || route.skipsAuth(method: head.method.rawValue, target: target) {
            return proxy(request, route: route, target: target, identity: nil)
        }
        authorize(request, route: route, target: target, auth: AuthRequest(head, target: target, requestID: requestID))
    }

    /// Health, metrics and, when login is configured, `/oauth2/…`: answered (or started) here.
    private func handledAsOwnEndpoint(_ request: GatewayRequest, target: RequestTarget) -> Bool {
        let head = request.head
        if let health = HealthEndpoint(path: target.routingPath) {
            let ready = readiness.isReady && (settings.authenticator?.isReady ?? true)
            answer(health.response(isReady: ready), to: request)
            return true
        }
        if let path = settings.metricsPath, target.routingPath == path {
            answer(.metrics(settings.metrics), to: request)
            return true
        }
        guard let authenticator = settings.authenticator, target.routingPath.hasPrefix("/oauth2/") else { return false }
        let auth = AuthRequest(head, target: target, requestID: request.requestID)
        switch target.routingPath {
        case Self.forwardAuthPath:
            forwardAuth(request, auth: auth, authenticator: authenticator)
        case Self.userinfoPath:
            userinfo(request, auth: auth, authenticator: authenticator)
        case Self.backchannelLogoutPath where head.method == .POST:
            machine.collect(LogoutForm(request: request, auth: auth, authenticator: authenticator))
        case Self.backchannelLogoutPath:
            let page = settings.pages.error(
                .methodNotAllowed, .methodNotAllowed, requestID: request.requestID, request: head.headers, extraHeaders: ["Allow": "POST"])
            answer(page, to: request)
        default:
            guard let endpoint = AuthEndpoint(rawValue: target.routingPath) else { return false }
            answerAfter({ await authenticator.handle(endpoint, auth) }, request: request) { $0 }
        }
        return true
    }

    /// A path Porteiro answers itself: health, metrics, and `/oauth2/…` when login is configured.
    private func isOwnPath(_ path: String) -> Bool {
        HealthEndpoint(path: path) != nil || path == settings.metricsPath
            || (settings.authenticator != nil && path.hasPrefix("/oauth2/"))
    }

    /// Starts proxying: rewrites the head and leases an upstream connection, or (`resolveFirst`)
    /// parks the exchange until a session refresh or token check has finished.
    func proxy(
        _ request: GatewayRequest, route: Route, target: RequestTarget, identity: SignedInUser?,
        responseCookies: [String]? = nil, resolveFirst: Bool = false
    ) {
        let head = request.head
        let upgrade = WebSocketUpgrade(head)
        let upstreamHead = settings.rewriter.upstreamRequest(
            head, route: route, target: target, peer: peer, requestID: request.requestID, upgrade: upgrade, identity: identity)
        if head.headers.first(name: "expect")?.lowercased() == "100-continue" {
            context?.writeAndFlush(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: .continue))), promise: nil)
        }
        var exchange = ProxyExchange(request: request, route: route, upstreamHead: upstreamHead, upgrade: upgrade)
        exchange.responseCookies = responseCookies ?? identity?.setCookies ?? []
        run(machine.proxy(exchange, resolveFirst: resolveFirst))
    }

    /// Answers locally, now or at the request's end (the state machine decides).
    func answer(_ response: LocalResponse, to request: GatewayRequest) {
        run(machine.answer(response, to: request))
    }

    /// Answers locally once `work` (I/O off the event loop) is done: reads are held meanwhile, then
    /// `respond` turns the result into the answer, on the loop.
    func answerAfter<Result: Sendable>(
        _ work: @escaping @Sendable () async -> Result, request: GatewayRequest,
        respond: @escaping (Result) -> LocalResponse
    ) {
        guard let context else { return }
        machine.awaitAnswer(for: request)
        let promise = context.eventLoop.makePromise(of: Result.self)
        promise.completeWithTask(work)
        promise.futureResult.assumeIsolated().whenSuccess { [weak self] result in
            guard let self, self.machine.awaitedAnswerReady() else { return }
            self.answer(respond(result), to: request)
        }
    }
}

extension AuthRequest {
    /// What the authenticator sees of a request head, read at the time of the call. Built only
    /// where login is involved: public routes skip the clock read and the copy.
    init(_ head: HTTPRequestHead, target: RequestTarget, requestID: String) {
        self.init(method: head.method, headers: head.headers, target: target, requestID: requestID, now: unixNow())
    }
}

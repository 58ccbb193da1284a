import NIOCore
import NIOHTTP1
import PorteiroRouting

/// Acting on a request head: `RequestDecision` decides (pure), and each outcome becomes one event
/// of the state machine: `answer`, `proxy`, `awaitAnswer` or `collect`.
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
        let (readiness, settings) = (readiness, settings)
        let decision = RequestDecision.decide(&request, settings: settings) {
            readiness.isReady && (settings.authenticator?.isReady ?? true)
        }
        switch decision {
        case .answer(let response, let notice):
            if let notice { logger.notice("\(notice)", metadata: ["request_id": "\(requestID)"]) }
            answer(response, to: request)
        case .endpoint(let endpoint, let target, let authenticator):
            ownEndpoint(endpoint, request, target: target, authenticator: authenticator)
        case .proxy(let route, let target):
            proxy(request, route: route, target: target, identity: nil)
        case .authorize(let route, let target):
            var auth = AuthRequest(head, target: target, requestID: requestID)
            auth.provider = route.provider
            authorize(request, route: route, target: target, auth: auth)
        }
    }

    /// `/oauth2/…`: forward-auth and userinfo answer from the session, the back-channel logout
    /// collects its form, the login endpoints answer after their IdP calls.
    private func ownEndpoint(
        _ endpoint: RequestDecision.OwnEndpoint, _ request: GatewayRequest, target: RequestTarget,
        authenticator: any GatewayAuthenticator
    ) {
        var auth = AuthRequest(request.head, target: target, requestID: request.requestID)
        switch endpoint {
        case .userinfo, .login(.start), .login(.signOut):
            guard let provider = ProviderChoice.forEndpoint(target, host: request.head.headers.first(name: "host"), settings: settings) else {
                return answer(settings.pages.error(.badRequest, .badPath, requestID: request.requestID, request: request.head.headers), to: request)
            }
            auth.provider = provider
        case .login(.callback):
            // Each provider has its own redirect URI, so an authorization response can only ever
            // be read as the answer of the provider it was registered at (mix-up, RFC 9700 §4.4).
            guard let provider = ProviderChoice.forCallback(target.path, settings: settings) else {
                return answer(settings.pages.error(.notFound, .noRoute, requestID: request.requestID, request: request.head.headers), to: request)
            }
            auth.provider = provider
        case .forwardAuth, .backchannelLogout:
            break  // the original URI's route (or provider=), the logout token's issuer decide
        }
        switch endpoint {
        case .forwardAuth:
            forwardAuth(request, auth: auth, authenticator: authenticator)
        case .userinfo:
            userinfo(request, auth: auth, authenticator: authenticator)
        case .backchannelLogout:
            machine.collect(LogoutForm(request: request, auth: auth, authenticator: authenticator))
        case .login(let login):
            let auth = auth
            answerAfter({ await authenticator.handle(login, auth) }, request: request) { $0 }
        }
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

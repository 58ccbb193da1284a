import NIOCore
import NIOHTTP1
import PorteiroRouting

/// The login half of `GatewayHandler`: anonymous visitors, session refresh and the `/oauth2/…`
/// endpoints. The authenticator's async work runs off the event loop; its result comes back to
/// the loop, where the exchange continues, with client reads held meanwhile.
extension GatewayHandler {
    /// An exchange parked in `.connecting` (refresh or token check) is answered locally instead.
    func dropParkedExchange() {
        exchange = nil
        state = .idle
    }

    /// A protected route (`optional`, `required`, `bearer`): who is asking, and may they pass?
    func authorize(
        _ head: HTTPRequestHead, route: Route, target: RequestTarget, request: AuthRequest, log: AccessLogEntry,
        context: ChannelHandlerContext
    ) {
        guard let authenticator = settings.authenticator else {
            if route.auth == .optional {
                return proxy(head, route: route, target: target, identity: nil, requestID: request.requestID, log: log, context: context)
            }
            let page = settings.pages.error(
                .unauthorized, .signInRequired, requestID: request.requestID, request: head.headers,
                extraHeaders: ["WWW-Authenticate": #"Bearer realm="porteiro""#])
            return answer(page, head: head, log: log, requestID: request.requestID, context: context)
        }
        if route.auth == .bearer, let token = bearerToken(head.headers) {
            return bearer(token, head: head, route: route, target: target, request: request, authenticator: authenticator, log: log)
        }
        if route.auth == .bearer, !route.allowSession {
            return refuseBearer(head, route: route, request: request, log: log, tokenRefused: false)
        }
        let cookies = head.headers["cookie"]
        if let memo = sessionMemo, request.now < memo.user.reusableUntil, memo.cookies == cookies,
            memo.user.revocationGeneration == authenticator.revocationGeneration
        {
            return admit(memo.user, head: head, route: route, target: target, request: request, log: log, context: context)
        }
        switch authenticator.authenticate(request) {
        case .signedIn(let user):
            sessionMemo = user.reusableUntil > request.now ? SessionMemo(cookies: cookies, user: user) : nil
            admit(user, head: head, route: route, target: target, request: request, log: log, context: context)
        case .anonymous(let clearCookies) where route.auth == .optional:
            proxy(head, route: route, target: target, identity: nil, requestID: request.requestID, log: log, context: context)
            exchange?.responseCookies = clearCookies
        case .anonymous(let clearCookies):
            answerAnonymous(head, route: route, request: request, clearCookies: clearCookies, log: log, context: context)
        case .pending(let pending):
            proxy(head, route: route, target: target, identity: nil, requestID: request.requestID, log: log, context: context,
                  connect: false)
            resolveThenConnect(pending, request: request, authenticator: authenticator, head: head)
        case .unavailable:
            answer(unavailablePage(request), head: head, log: log, requestID: request.requestID, context: context)
        }
    }

    /// 503 for a session that cannot be used until the IdP answers again (`Authentication.unavailable`).
    func unavailablePage(_ request: AuthRequest) -> LocalResponse {
        settings.pages.error(
            .serviceUnavailable, .refreshFailed, requestID: request.requestID, request: request.headers, extraHeaders: ["Retry-After": "5"])
    }

    /// An anonymous request to a protected route: a browser navigation is sent to the IdP,
    /// anything else gets 401 (a redirect would only break an XHR or API client).
    func answerAnonymous(
        _ head: HTTPRequestHead, route: Route, request: AuthRequest, clearCookies: [String], log: AccessLogEntry,
        context: ChannelHandlerContext
    ) {
        var response: LocalResponse
        if let authenticator = settings.authenticator, route.auth != .bearer, request.isNavigation(method: head.method) {
            response = authenticator.startLogin(request, returnTo: request.target.path + request.target.query)
        } else {
            response = settings.pages.error(
                .unauthorized, .signInRequired, requestID: request.requestID, request: request.headers,
                extraHeaders: ["WWW-Authenticate": #"Bearer realm="porteiro""#])
        }
        for cookie in clearCookies { response.headers.add(name: "Set-Cookie", value: cookie) }
        if response.status == .unauthorized { addCORS(to: &response, route: route, request: head.headers) }
        answer(response, head: head, log: log, requestID: request.requestID, context: context)
    }

    /// The token of `Authorization: Bearer <token>`, if that is what the client sent.
    func bearerToken(_ headers: HTTPHeaders) -> String? {
        guard let value = headers.first(name: "authorization"), value.count > 7,
            value.prefix(7).lowercased() == "bearer "
        else { return nil }
        return String(value.dropFirst(7).drop(while: { $0 == " " }))
    }

    /// An API client's token: known and valid → through at once; unknown → verified off the loop
    /// (the exchange waits in `.connecting`), then through or 401.
    func bearer(
        _ token: String, head: HTTPRequestHead, route: Route, target: RequestTarget, request: AuthRequest,
        authenticator: any GatewayAuthenticator, log: AccessLogEntry
    ) {
        guard let context else { return }
        if let user = authenticator.cachedBearer(token, audiences: route.audiences, now: request.now) {
            return admit(user, head: head, route: route, target: target, request: request, log: log, context: context)
        }
        proxy(head, route: route, target: target, identity: nil, requestID: request.requestID, log: log, context: context, connect: false)
        let promise = context.eventLoop.makePromise(of: SignedInUser?.self)
        promise.completeWithTask { await authenticator.verifyBearer(token, audiences: route.audiences, now: request.now) }
        promise.futureResult.assumeIsolated().whenSuccess { [weak self] user in
            guard let self, case .connecting = self.state, let exchange = self.exchange, let context = self.context else { return }
            guard let user else {
                self.dropParkedExchange()
                return self.refuseBearer(head, route: route, request: request, log: exchange.log, tokenRefused: true)
            }
            if route.policy.decide(user.policySubject) == .deny {
                self.dropParkedExchange()
                return self.admit(user, head: head, route: route, target: target, request: request, log: exchange.log, context: context)
            }
            var identityHead = exchange.upstreamHead
            HeaderRewriter.addIdentity(user, route: route, to: &identityHead.headers)
            self.exchange?.upstreamHead = identityHead
            self.connectUpstream(fresh: false)
        }
    }

    /// 401 for an API route (RFC 6750 §3): `invalid_token` when a token was sent but refused.
    func refuseBearer(_ head: HTTPRequestHead, route: Route, request: AuthRequest, log: AccessLogEntry, tokenRefused: Bool) {
        guard let context else { return }
        let challenge = tokenRefused ? #"Bearer realm="porteiro", error="invalid_token""# : #"Bearer realm="porteiro""#
        var page = settings.pages.error(
            .unauthorized, .signInRequired, requestID: request.requestID, request: head.headers,
            extraHeaders: ["WWW-Authenticate": challenge])
        addCORS(to: &page, route: route, request: head.headers)
        answer(page, head: head, log: log, requestID: request.requestID, context: context)
    }

    /// Lets a listed origin's script read the 401 (and its `WWW-Authenticate`) to start a login.
    func addCORS(to response: inout LocalResponse, route: Route, request: HTTPHeaders) {
        guard let origin = request.first(name: "origin"), route.corsOrigins.contains(origin.lowercased()) else { return }
        response.headers.replaceOrAdd(name: "Access-Control-Allow-Origin", value: origin)
        response.headers.replaceOrAdd(name: "Access-Control-Allow-Credentials", value: "true")
        response.headers.replaceOrAdd(name: "Access-Control-Expose-Headers", value: "WWW-Authenticate, X-Request-Id")
        response.headers.add(name: "Vary", value: "Origin")
    }

    /// A signed-in user on a route: through when the route's policy admits them, else 403 with
    /// who is signed in and a way to sign out (and a log line naming the route and its rules).
    func admit(
        _ user: SignedInUser, head: HTTPRequestHead, route: Route, target: RequestTarget, request: AuthRequest,
        log: AccessLogEntry, context: ChannelHandlerContext
    ) {
        if route.auth == .required || route.auth == .bearer, case .deny = route.policy.decide(user.policySubject) {
            logger.notice(
                "access denied",
                metadata: ["route": "\(route.index)", "path": "\(route.prefix)", "user": "\(user.user)",
                           "rule": "\(route.policy)", "request_id": "\(request.requestID)"])
            var page = settings.pages.error(
                .forbidden, .notAllowed(user: user.user), requestID: request.requestID, request: head.headers, signOut: true)
            for cookie in user.setCookies { page.headers.add(name: "Set-Cookie", value: cookie) }
            return answer(page, head: head, log: log, requestID: request.requestID, context: context)
        }
        proxy(head, route: route, target: target, identity: user, requestID: request.requestID, log: log, context: context)
    }

    /// The exchange waits in `.connecting` while the session is read or refreshed, then goes
    /// upstream with the (new) token and cookie — or is answered as anonymous if the IdP said no.
    func resolveThenConnect(
        _ pending: PendingSession, request: AuthRequest, authenticator: any GatewayAuthenticator, head: HTTPRequestHead
    ) {
        guard let context else { return }
        let promise = context.eventLoop.makePromise(of: Authentication.self)
        promise.completeWithTask { await authenticator.resolve(pending, request: request) }
        promise.futureResult.assumeIsolated().whenSuccess { [weak self] outcome in
            guard let self, case .connecting = self.state, let exchange = self.exchange, let context = self.context else { return }
            switch outcome {
            case .signedIn(let user) where exchange.route.auth != .optional
                && exchange.route.policy.decide(user.policySubject) == .deny:
                self.dropParkedExchange()
                self.admit(user, head: head, route: exchange.route, target: request.target, request: request, log: exchange.log, context: context)
            case .signedIn(let user):
                var identityHead = exchange.upstreamHead
                HeaderRewriter.addIdentity(user, route: exchange.route, to: &identityHead.headers)
                self.exchange?.upstreamHead = identityHead
                self.exchange?.responseCookies = user.setCookies
                self.connectUpstream(fresh: false)
            case .anonymous(let clearCookies) where exchange.route.auth == .optional:
                self.exchange?.responseCookies = clearCookies
                self.connectUpstream(fresh: false)
            case .anonymous(let clearCookies):
                self.dropParkedExchange()
                self.answerAnonymous(
                    head, route: exchange.route, request: request, clearCookies: clearCookies, log: exchange.log, context: context)
            case .pending:
                self.respondWithError(.badGateway, .refreshFailed, reason: "session refresh failed")
            case .unavailable:
                self.dropParkedExchange()
                self.answer(self.unavailablePage(request), head: head, log: exchange.log, requestID: request.requestID, context: context)
            }
        }
    }

    /// `/oauth2/start`, `/oauth2/callback`, `/oauth2/sign_out`: always answered locally.
    func runEndpoint(
        _ endpoint: AuthEndpoint, request: AuthRequest, authenticator: any GatewayAuthenticator, head: HTTPRequestHead,
        log: AccessLogEntry
    ) {
        answerAfter({ await authenticator.handle(endpoint, request) }, head: head, log: log, requestID: request.requestID) { $0 }
    }

    /// Answers locally once `work` (I/O off the event loop) is done: the connection waits in
    /// `.waiting` with reads held, then `respond` turns the result into the answer, on the loop.
    func answerAfter<Result: Sendable>(
        _ work: @escaping @Sendable () async -> Result, head: HTTPRequestHead, log: AccessLogEntry, requestID: String,
        respond: @escaping (Result) -> LocalResponse
    ) {
        guard let context else { return }
        state = .waiting(log, requestID: requestID, keepAlive: head.isKeepAlive)
        let promise = context.eventLoop.makePromise(of: Result.self)
        promise.completeWithTask(work)
        promise.futureResult.assumeIsolated().whenSuccess { [weak self] result in
            guard let self, case .waiting = self.state, let context = self.context else { return }
            self.state = .idle
            self.answer(respond(result), head: head, log: log, requestID: requestID, context: context)
        }
    }
}

import NIOCore
import NIOHTTP1
import PorteiroConfig
import PorteiroRouting

/// The login half of `GatewayHandler`: anonymous visitors, bearer tokens, session refresh. The
/// authenticator's async work runs off the event loop; its result comes back to the loop, where
/// the exchange parked in `.resolving` continues, with client reads held meanwhile.
extension GatewayHandler {
    /// A protected route (`optional`, `required`, `bearer`): who is asking, and may they pass?
    func authorize(_ request: GatewayRequest, route: Route, target: RequestTarget, auth: AuthRequest) {
        let head = request.head
        guard let authenticator = settings.authenticator else {
            if route.auth == .optional {
                return proxy(request, route: route, target: target, identity: nil)
            }
            let page = settings.pages.error(
                .unauthorized, .signInRequired, requestID: request.requestID, request: head.headers,
                extraHeaders: ["WWW-Authenticate": #"Bearer realm="porteiro""#])
            return answer(page, to: request)
        }
        if route.auth == .bearer, let token = bearerToken(head.headers) {
            return bearer(token, request, route: route, target: target, auth: auth, authenticator: authenticator)
        }
        if route.auth == .bearer, !route.allowSession {
            return refuseBearer(request, route: route, tokenRefused: false)
        }
        let cookies = head.headers["cookie"]
        if let memo = sessionMemo, auth.now < memo.user.reusableUntil, memo.provider == auth.provider, memo.cookies == cookies,
            memo.user.revocationGeneration == authenticator.revocationGeneration
        {
            return admit(memo.user, request, route: route, target: target)
        }
        switch authenticator.authenticate(auth) {
        case .signedIn(let user):
            sessionMemo = user.reusableUntil > auth.now ? SessionMemo(cookies: cookies, provider: auth.provider, user: user) : nil
            admit(user, request, route: route, target: target)
        case .anonymous(let clearCookies) where route.auth == .optional:
            proxy(request, route: route, target: target, identity: nil, responseCookies: clearCookies)
        case .anonymous(let clearCookies):
            answerAnonymous(request, route: route, auth: auth, clearCookies: clearCookies)
        case .pending(let pending):
            proxy(request, route: route, target: target, identity: nil, resolveFirst: true)
            resolveThenConnect(pending, auth: auth, authenticator: authenticator)
        case .unavailable:
            answer(unavailablePage(auth), to: request)
        }
    }

    /// 503 for a session that cannot be used until the IdP answers again (`Authentication.unavailable`).
    func unavailablePage(_ request: AuthRequest) -> LocalResponse {
        settings.pages.error(
            .serviceUnavailable, .refreshFailed, requestID: request.requestID, request: request.headers, extraHeaders: ["Retry-After": "5"])
    }

    /// An anonymous request to a protected route: a browser navigation is sent to the IdP,
    /// anything else gets 401 (a redirect would only break an XHR or API client).
    func answerAnonymous(_ request: GatewayRequest, route: Route, auth: AuthRequest, clearCookies: [String]) {
        var response: LocalResponse
        if let authenticator = settings.authenticator, route.auth != .bearer, auth.isNavigation(method: request.head.method) {
            response = authenticator.startLogin(auth, returnTo: auth.target.path + auth.target.query)
        } else {
            response = settings.pages.error(
                .unauthorized, .signInRequired, requestID: request.requestID, request: auth.headers,
                extraHeaders: ["WWW-Authenticate": #"Bearer realm="porteiro""#])
        }
        for cookie in clearCookies { response.headers.add(name: "Set-Cookie", value: cookie) }
        if response.status == .unauthorized { addCORS(to: &response, route: route, request: request.head.headers) }
        answer(response, to: request)
    }

    /// The token of `Authorization: Bearer <token>`, if that is what the client sent.
    func bearerToken(_ headers: HTTPHeaders) -> String? {
        guard let value = headers.first(name: "authorization"), value.count > 7,
            value.prefix(7).lowercased() == "bearer "
        else { return nil }
        return String(value.dropFirst(7).drop(while: { $0 == " " }))
    }

    /// An API client's token: known and valid → through at once; unknown → verified off the loop
    /// (the exchange waits in `.resolving`), then through or 401.
    func bearer(
        _ token: String, _ request: GatewayRequest, route: Route, target: RequestTarget, auth: AuthRequest,
        authenticator: any GatewayAuthenticator
    ) {
        guard let context else { return }
        if let user = authenticator.cachedBearer(token, audiences: route.audiences, providers: route.bearerProviders, now: auth.now) {
            return admit(user, request, route: route, target: target)
        }
        proxy(request, route: route, target: target, identity: nil, resolveFirst: true)
        let promise = context.eventLoop.makePromise(of: SignedInUser?.self)
        promise.completeWithTask { await authenticator.verifyBearer(token, audiences: route.audiences, providers: route.bearerProviders, now: auth.now) }
        promise.futureResult.assumeIsolated().whenSuccess { [weak self] user in
            guard let self, self.machine.resolvingExchange != nil else { return }
            guard let user else {
                guard let request = self.machine.resolvedToAnswer() else { return }
                return self.refuseBearer(request, route: route, tokenRefused: true)
            }
            if route.policy.decide(user.policySubject) == .deny {
                guard let request = self.machine.resolvedToAnswer() else { return }
                return self.deny(user, request, route: route)
            }
            self.run(self.machine.resolved { HeaderRewriter.addIdentity(user, route: route, to: &$0.upstreamHead.headers) })
        }
    }

    /// 401 for an API route (RFC 6750 §3): `invalid_token` when a token was sent but refused.
    func refuseBearer(_ request: GatewayRequest, route: Route, tokenRefused: Bool) {
        let challenge = tokenRefused ? #"Bearer realm="porteiro", error="invalid_token""# : #"Bearer realm="porteiro""#
        var page = settings.pages.error(
            .unauthorized, .signInRequired, requestID: request.requestID, request: request.head.headers,
            extraHeaders: ["WWW-Authenticate": challenge])
        addCORS(to: &page, route: route, request: request.head.headers)
        answer(page, to: request)
    }

    /// Lets a listed origin's script read the 401 (and its `WWW-Authenticate`) to start a login.
    func addCORS(to response: inout LocalResponse, route: Route, request: HTTPHeaders) {
        guard let origin = request.first(name: "origin"), route.corsOrigins.contains(origin.lowercased()) else { return }
        response.headers.replaceOrAdd(name: "Access-Control-Allow-Origin", value: origin)
        response.headers.replaceOrAdd(name: "Access-Control-Allow-Credentials", value: "true")
        response.headers.replaceOrAdd(name: "Access-Control-Expose-Headers", value: "WWW-Authenticate, X-Request-Id")
        response.headers.add(name: "Vary", value: "Origin")
    }

    /// A signed-in user on a route: through when the route's policy admits them, else refused.
    /// A `token_exchange` route sends the app its own token: from memory, or asked for first.
    func admit(_ user: SignedInUser, _ request: GatewayRequest, route: Route, target: RequestTarget) {
        if route.auth == .required || route.auth == .bearer, case .deny = route.policy.decide(user.policySubject) {
            return deny(user, request, route: route)
        }
        guard let exchange = route.tokenExchange, let authenticator = settings.authenticator else {
            return proxy(request, route: route, target: target, identity: user)
        }
        if let token = authenticator.cachedExchangedToken(for: user, exchange, now: unixNow()) {
            return proxy(request, route: route, target: target, identity: user.withAccessToken(token))
        }
        proxy(request, route: route, target: target, identity: nil, resolveFirst: true)
        exchangeThenConnect(user, exchange, authenticator: authenticator)
    }

    /// The exchange waits in `.resolving` while the route's token is asked for; then goes upstream
    /// with it — or is a 502, never the session's own token.
    func exchangeThenConnect(_ user: SignedInUser, _ exchange: RouteConfig.TokenExchange, authenticator: any GatewayAuthenticator) {
        guard let context else { return }
        let promise = context.eventLoop.makePromise(of: Result<String, TokenExchangeRefused>.self)
        promise.completeWithTask { await authenticator.exchangeToken(for: user, exchange, now: unixNow()) }
        promise.futureResult.assumeIsolated().whenSuccess { [weak self] result in
            guard let self, let waiting = self.machine.resolvingExchange else { return }
            let route = waiting.route
            switch result {
            case .success(let token):
                let user = user.withAccessToken(token)
                self.run(self.machine.resolved {
                    HeaderRewriter.addIdentity(user, route: route, to: &$0.upstreamHead.headers)
                    $0.responseCookies = user.setCookies
                })
            case .failure(let refused):
                self.logger.warning(
                    "token exchange refused",
                    metadata: ["route": "\(route.index)", "path": "\(route.prefix)", "audience": "\(exchange.audience)",
                               "reason": "\(refused.reason)", "user": "\(user.user)", "request_id": "\(waiting.requestID)"])
                self.run(self.machine.resolutionFailed(
                    ExchangeFailure(status: .badGateway, text: .tokenExchangeFailed, reason: "token exchange refused")))
            }
        }
    }

    /// 403 with who is signed in and a way to sign out, and a log line naming the route and its rules.
    func deny(_ user: SignedInUser, _ request: GatewayRequest, route: Route) {
        logger.notice(
            "access denied",
            metadata: ["route": "\(route.index)", "path": "\(route.prefix)", "user": "\(user.user)",
                       "rule": "\(route.policy)", "request_id": "\(request.requestID)"])
        var page = settings.pages.error(
            .forbidden, .notAllowed(user: user.user), requestID: request.requestID, request: request.head.headers, signOut: true)
        for cookie in user.setCookies { page.headers.add(name: "Set-Cookie", value: cookie) }
        answer(page, to: request)
    }

    /// The exchange waits in `.resolving` while the session is read or refreshed, then goes
    /// upstream with the (new) token and cookie — or is answered as anonymous if the IdP said no.
    func resolveThenConnect(_ pending: PendingSession, auth: AuthRequest, authenticator: any GatewayAuthenticator) {
        guard let context else { return }
        let promise = context.eventLoop.makePromise(of: Authentication.self)
        promise.completeWithTask { await authenticator.resolve(pending, request: auth) }
        promise.futureResult.assumeIsolated().whenSuccess { [weak self] outcome in
            guard let self, let exchange = self.machine.resolvingExchange else { return }
            let route = exchange.route
            switch outcome {
            case .signedIn(let user) where route.auth != .optional && route.policy.decide(user.policySubject) == .deny:
                guard let request = self.machine.resolvedToAnswer() else { return }
                self.deny(user, request, route: route)
            case .signedIn(let user):
                if let exchange = route.tokenExchange {
                    if let token = authenticator.cachedExchangedToken(for: user, exchange, now: unixNow()) {
                        return self.run(self.machine.resolved {
                            HeaderRewriter.addIdentity(user.withAccessToken(token), route: route, to: &$0.upstreamHead.headers)
                            $0.responseCookies = user.setCookies
                        })
                    }
                    return self.exchangeThenConnect(user, exchange, authenticator: authenticator)
                }
                self.run(self.machine.resolved {
                    HeaderRewriter.addIdentity(user, route: route, to: &$0.upstreamHead.headers)
                    $0.responseCookies = user.setCookies
                })
            case .anonymous(let clearCookies) where route.auth == .optional:
                self.run(self.machine.resolved { $0.responseCookies = clearCookies })
            case .anonymous(let clearCookies):
                guard let request = self.machine.resolvedToAnswer() else { return }
                self.answerAnonymous(request, route: route, auth: auth, clearCookies: clearCookies)
            case .pending:
                self.run(self.machine.resolutionFailed(
                    ExchangeFailure(status: .badGateway, text: .refreshFailed, reason: "session refresh failed")))
            case .unavailable:
                guard let request = self.machine.resolvedToAnswer() else { return }
                self.answer(self.unavailablePage(auth), to: request)
            }
        }
    }
}

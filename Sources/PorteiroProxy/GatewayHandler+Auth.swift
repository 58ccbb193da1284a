import NIOCore
import NIOHTTP1
import PorteiroRouting

/// The login half of `GatewayHandler`: anonymous visitors, session refresh and the `/oauth2/…`
/// endpoints. The authenticator's async work runs off the event loop; its result comes back to
/// the loop, where the exchange continues, with client reads held meanwhile.
extension GatewayHandler {
    /// An anonymous request to a protected route: a browser navigation is sent to the IdP,
    /// anything else gets 401 (a redirect would only break an XHR or API client).
    func answerAnonymous(
        _ head: HTTPRequestHead, request: AuthRequest, clearCookies: [String], log: AccessLogEntry,
        context: ChannelHandlerContext
    ) {
        guard let authenticator = settings.authenticator else { return }
        var response: LocalResponse
        if request.isNavigation(method: head.method) {
            response = authenticator.startLogin(request, returnTo: request.target.path + request.target.query)
        } else {
            response = settings.pages.error(
                .unauthorized, .signInRequired, requestID: request.requestID, request: request.headers,
                extraHeaders: ["WWW-Authenticate": #"Bearer realm="porteiro""#])
        }
        for cookie in clearCookies { response.headers.add(name: "Set-Cookie", value: cookie) }
        answer(response, head: head, log: log, requestID: request.requestID, context: context)
    }

    /// A signed-in user on a route: through when the route's policy admits them, else 403 with
    /// who is signed in and a way to sign out (and a log line naming the route and its rules).
    func admit(
        _ user: SignedInUser, head: HTTPRequestHead, route: Route, target: RequestTarget, request: AuthRequest,
        log: AccessLogEntry, context: ChannelHandlerContext
    ) {
        if route.auth == .required, case .deny = route.policy.decide(user.policySubject) {
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

    /// The exchange waits in `.connecting` while the session is refreshed, then goes upstream with
    /// the new token and the resealed cookie — or is answered as anonymous if the IdP said no.
    func refreshThenConnect(
        _ pending: PendingRefresh, request: AuthRequest, authenticator: any GatewayAuthenticator, head: HTTPRequestHead
    ) {
        guard let context else { return }
        let promise = context.eventLoop.makePromise(of: Authentication.self)
        promise.completeWithTask { await authenticator.refresh(pending, request: request) }
        promise.futureResult.assumeIsolated().whenSuccess { [weak self] outcome in
            guard let self, case .connecting = self.state, let exchange = self.exchange, let context = self.context else { return }
            switch outcome {
            case .signedIn(let user) where exchange.route.auth == .required
                && exchange.route.policy.decide(user.policySubject) == .deny:
                self.exchange = nil
                self.state = .idle
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
                self.exchange = nil
                self.state = .idle
                self.answerAnonymous(head, request: request, clearCookies: clearCookies, log: exchange.log, context: context)
            case .refreshNeeded:
                self.respondWithError(.badGateway, .refreshFailed, cause: nil)
            }
        }
    }

    /// `/oauth2/start`, `/oauth2/callback`, `/oauth2/sign_out`: always answered locally.
    func runEndpoint(
        _ endpoint: AuthEndpoint, request: AuthRequest, authenticator: any GatewayAuthenticator, head: HTTPRequestHead,
        log: AccessLogEntry
    ) {
        guard let context else { return }
        state = .waiting(log, requestID: request.requestID, keepAlive: head.isKeepAlive)
        let promise = context.eventLoop.makePromise(of: LocalResponse.self)
        promise.completeWithTask { await authenticator.handle(endpoint, request) }
        promise.futureResult.assumeIsolated().whenSuccess { [weak self] response in
            guard let self, case .waiting(let log, let requestID, let keepAlive) = self.state, let context = self.context else {
                return
            }
            if self.requestEnded {
                self.writeLocal(response, log: log, requestID: requestID, keepAlive: keepAlive, context: context)
            } else {
                self.state = .answering(response, log, requestID: requestID, keepAlive: keepAlive)
            }
        }
    }
}

import NIOCore
import NIOHTTP1
import PorteiroPolicy
import PorteiroRouting

/// `/oauth2/auth` (nginx `auth_request`, Traefik/Caddy forward-auth) and `/oauth2/userinfo`:
/// Porteiro answers "may this request pass?" without proxying anything.
extension GatewayHandler {
    static let forwardAuthPath = "/oauth2/auth"
    static let userinfoPath = "/oauth2/userinfo"

    /// 202 with `X-Auth-Request-*` identity headers, 401 when anonymous, 403 when the policy in the
    /// query (`allowed_groups`, `allowed_emails`, `allowed_email_domains`) or the route of the
    /// original URI denies. The original URI (`X-Forwarded-Uri` / `X-Original-URL`) is believed
    /// only from `server.trusted_proxies`, and is normalized exactly as routing does.
    func forwardAuth(
        _ head: HTTPRequestHead, request: AuthRequest, authenticator: any GatewayAuthenticator, log: AccessLogEntry,
        context: ChannelHandlerContext
    ) {
        let route = originalRoute(head)
        if let route, route.auth == .none || route.skipsAuth(method: originalMethod(head), path: originalPath(head) ?? "") {
            return answer(.plain(.accepted, ""), head: head, log: log, requestID: request.requestID, context: context)
        }
        switch authenticator.authenticate(request) {
        case .signedIn(let user):
            answer(forwardAuthAnswer(user, route: route, request: request), head: head, log: log, requestID: request.requestID, context: context)
        case .anonymous(let clearCookies) where route?.auth == .optional:
            var accepted = LocalResponse.plain(.accepted, "")
            for cookie in clearCookies { accepted.headers.add(name: "Set-Cookie", value: cookie) }
            answer(accepted, head: head, log: log, requestID: request.requestID, context: context)
        case .anonymous(let clearCookies):
            var page = settings.pages.error(
                .unauthorized, .signInRequired, requestID: request.requestID, request: head.headers,
                extraHeaders: ["WWW-Authenticate": #"Bearer realm="porteiro""#])
            for cookie in clearCookies { page.headers.add(name: "Set-Cookie", value: cookie) }
            answer(page, head: head, log: log, requestID: request.requestID, context: context)
        case .pending(let pending):
            answerAfter({ await authenticator.resolve(pending, request: request) }, head: head, log: log, requestID: request.requestID) {
                guard case .signedIn(let user) = $0 else {
                    return self.settings.pages.error(.unauthorized, .signInRequired, requestID: request.requestID, request: head.headers)
                }
                return self.forwardAuthAnswer(user, route: route, request: request)
            }
        }
    }

    /// JSON of the session's identity (never tokens), or 401.
    func userinfo(_ head: HTTPRequestHead, request: AuthRequest, authenticator: any GatewayAuthenticator, log: AccessLogEntry, context: ChannelHandlerContext) {
        let user: SignedInUser?
        switch authenticator.authenticate(request) {
        case .signedIn(let signedIn): user = signedIn
        case .pending(let pending):
            guard let known = authenticator.identity(of: pending) else {
                // Not in this replica's cache: read from the session store first.
                return answerAfter({ await authenticator.resolve(pending, request: request) }, head: head, log: log,
                                   requestID: request.requestID) {
                    guard case .signedIn(let user) = $0 else { return self.userinfoAnswer(nil, request: request) }
                    return self.userinfoAnswer(user, request: request)
                }
            }
            user = known
        case .anonymous: user = nil
        }
        answer(userinfoAnswer(user, request: request), head: head, log: log, requestID: request.requestID, context: context)
    }

    private func userinfoAnswer(_ user: SignedInUser?, request: AuthRequest) -> LocalResponse {
        guard let user else {
            return settings.pages.error(.unauthorized, .signInRequired, requestID: request.requestID, request: ["Accept": "application/json"])
        }
        let groups = user.groups.map { "\"\(jsonEscaped($0))\"" }.joined(separator: ",")
        let roles = user.roles.map { "\"\(jsonEscaped($0))\"" }.joined(separator: ",")
        let body = #"{"user":"\#(jsonEscaped(user.user))","preferred_username":"\#(jsonEscaped(user.user))","#
            + #""email":"\#(jsonEscaped(user.email))","groups":[\#(groups)],"roles":[\#(roles)]}"#
        return LocalResponse(status: .ok, headers: ["Content-Type": "application/json", "Cache-Control": "no-store"], body: body)
    }

    private func forwardAuthAnswer(_ user: SignedInUser, route: Route?, request: AuthRequest) -> LocalResponse {
        let query = FormEncoding.decode(request.target.query.dropFirst())
        let split = { (name: String) in query[name].map { $0.split(separator: ",").map(String.init) } ?? [] }
        let queryPolicy = AccessPolicy(groups: split("allowed_groups"), emails: split("allowed_emails"), emailDomains: split("allowed_email_domains"))
        let routePolicy = route?.auth == .required || route?.auth == .bearer ? route?.policy : nil
        for policy in [queryPolicy, routePolicy ?? .anySignedInUser] where policy.decide(user.policySubject) == .deny {
            logger.notice("access denied", metadata: ["endpoint": "/oauth2/auth", "user": "\(user.user)", "rule": "\(policy)", "request_id": "\(request.requestID)"])
            var page = settings.pages.error(.forbidden, .notAllowed(user: user.user), requestID: request.requestID, request: request.headers, signOut: true)
            for cookie in user.setCookies { page.headers.add(name: "Set-Cookie", value: cookie) }
            return page
        }
        var headers: HTTPHeaders = ["X-Auth-Request-User": user.user, "X-Auth-Request-Preferred-Username": user.user, "Cache-Control": "no-store"]
        if !user.email.isEmpty { headers.add(name: "X-Auth-Request-Email", value: user.email) }
        if !user.groups.isEmpty { headers.add(name: "X-Auth-Request-Groups", value: user.groups.joined(separator: ",")) }
        if settings.forwardAuthAccessToken { headers.add(name: "X-Auth-Request-Access-Token", value: user.accessToken) }
        for cookie in user.setCookies { headers.add(name: "Set-Cookie", value: cookie) }
        return LocalResponse(status: .accepted, headers: headers, body: "")
    }

    /// The route the proxy in front will send the original request to, when it says so and is trusted.
    private func originalRoute(_ head: HTTPRequestHead) -> Route? {
        guard let path = originalPath(head) else { return nil }
        let host = head.headers.first(name: "x-forwarded-host") ?? head.headers.first(name: "host")
        return settings.routes.route(host: host, path: path)
    }

    private func originalPath(_ head: HTTPRequestHead) -> String? {
        guard peer.isTrusted,
            let uri = head.headers.first(name: "x-forwarded-uri") ?? head.headers.first(name: "x-original-url"),
            case .success(let target) = RequestTarget.parse(uri)
        else { return nil }
        return target.routingPath
    }

    private func originalMethod(_ head: HTTPRequestHead) -> String {
        peer.isTrusted ? (head.headers.first(name: "x-forwarded-method") ?? head.headers.first(name: "x-original-method") ?? "GET") : "GET"
    }
}

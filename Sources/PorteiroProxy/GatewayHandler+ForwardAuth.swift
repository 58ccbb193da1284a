import NIOCore
import NIOHTTP1
import PorteiroPolicy
import PorteiroRouting

/// `/oauth2/auth` (nginx `auth_request`, Traefik/Caddy forward-auth) and `/oauth2/userinfo`:
/// Porteiro answers "may this request pass?" without proxying anything.
extension GatewayHandler {
    /// 202 with `X-Auth-Request-*` identity headers, 401 when anonymous, 403 when the policy in the
    /// query (`allowed_groups`, `allowed_emails`, `allowed_email_domains`) or the route of the
    /// original URI denies. The original request (`OriginalRequest`) is believed only from
    /// `server.trusted_proxies` and is normalized exactly as routing does; one that cannot be read,
    /// or that no route serves, never admits.
    func forwardAuth(_ gatewayRequest: GatewayRequest, auth request: AuthRequest, authenticator: any GatewayAuthenticator) {
        let head = gatewayRequest.head
        func refuse(_ status: HTTPResponseStatus, _ text: PageText, reason: String) {
            logger.notice("forward-auth refused", metadata: ["reason": "\(reason)", "request_id": "\(request.requestID)"])
            let page = settings.pages.error(status, text, requestID: request.requestID, request: head.headers)
            answer(page, to: gatewayRequest)
        }
        guard let queryPolicy = Self.queryPolicy(request.target.query) else {
            return refuse(.badRequest, .badPath, reason: "a query parameter other than allowed_groups, allowed_emails, allowed_email_domains, provider")
        }
        guard let named = ProviderChoice.forEndpoint(request.target, host: head.headers.first(name: "host"), settings: settings) else {
            return refuse(.badRequest, .badPath, reason: "provider= names no configured provider")
        }
        let route: Route?
        switch OriginalRequest.read(head.headers, peerIsTrusted: peer.isTrusted) {
        case .absent:
            route = nil
        case .unreadable(let reason):
            return refuse(.badRequest, .badPath, reason: reason)
        case .untrusted:
            return refuse(.forbidden, .untrustedOriginal, reason: "original URI from a peer not in server.trusted_proxies")
        case .request(let original):
            let found: Route
            switch settings.routes.lookup(host: original.host, target: original.target) {
            case .route(let route): found = route
            case .none: return refuse(.forbidden, .noRoute, reason: "no route for the original URI")
            case .ambiguous: return refuse(.badRequest, .badPath, reason: "original URI read differently by different servers")
            }
            if let methods = found.methods, !methods.contains(original.method) {
                return refuse(.forbidden, .methodNotAllowed, reason: "routes[\(found.index)] does not accept \(original.method)")
            }
            if found.auth == .none || found.skipsAuth(method: original.method, target: original.target) {
                return answer(.plain(.accepted, ""), to: gatewayRequest)
            }
            if found.auth == .bearer, !found.allowSession {
                // Forward-auth answers for browser sessions; a tokens-only route is for gateway mode.
                return refuse(.unauthorized, .signInRequired, reason: "routes[\(found.index)] takes bearer tokens only")
            }
            route = found
        }
        // The session that counts is the one at the original URI's route's provider (or, without
        // one, at `provider=`); a `provider=` naming another is refused, never believed.
        if let route, named != route.provider, FormEncoding.decode(request.target.query.dropFirst())["provider"] != nil {
            return refuse(.badRequest, .badPath, reason: "provider= differs from routes[\(route.index)]'s provider")
        }
        let request = request.at(provider: route?.provider ?? named)
        switch authenticator.authenticate(request) {
        case .signedIn(let user):
            answer(forwardAuthAnswer(user, route: route, queryPolicy: queryPolicy, request: request), to: gatewayRequest)
        case .anonymous(let clearCookies) where route?.auth == .optional:
            var accepted = LocalResponse.plain(.accepted, "")
            for cookie in clearCookies { accepted.headers.add(name: "Set-Cookie", value: cookie) }
            answer(accepted, to: gatewayRequest)
        case .anonymous(let clearCookies):
            var page = settings.pages.error(
                .unauthorized, .signInRequired, requestID: request.requestID, request: head.headers,
                extraHeaders: ["WWW-Authenticate": #"Bearer realm="porteiro""#])
            for cookie in clearCookies { page.headers.add(name: "Set-Cookie", value: cookie) }
            answer(page, to: gatewayRequest)
        case .pending(let pending):
            answerAfter({ await authenticator.resolve(pending, request: request) }, request: gatewayRequest) {
                switch $0 {
                case .signedIn(let user): return self.forwardAuthAnswer(user, route: route, queryPolicy: queryPolicy, request: request)
                case .unavailable: return self.unavailablePage(request)
                case .anonymous, .pending:
                    return self.settings.pages.error(.unauthorized, .signInRequired, requestID: request.requestID, request: head.headers)
                }
            }
        case .unavailable:
            answer(unavailablePage(request), to: gatewayRequest)
        }
    }

    /// The policy of `allowed_groups`, `allowed_emails` and `allowed_email_domains` (comma-separated;
    /// any one admits). A parameter that is present but names nothing (`allowed_groups=` from an
    /// unset nginx variable) admits no one, rather than everyone; any other parameter (a typo such as
    /// `allowed_group=`, which would otherwise be ignored), or one given twice, makes the query
    /// unreadable: nil.
    static func queryPolicy(_ query: String) -> AccessPolicy? {
        let parameters = FormEncoding.decode(query.dropFirst())
        let names = ["allowed_groups", "allowed_emails", "allowed_email_domains", "provider"]
        guard parameters.keys.allSatisfy(names.contains) else { return nil }
        // A parameter given twice is ambiguous (one reader takes the first, another the last).
        let given = query.dropFirst().split(separator: "&").filter { !$0.isEmpty }.count
        guard given == parameters.count else { return nil }
        var lists: [String: [String]] = [:]
        for name in names {
            guard let value = parameters[name] else { continue }
            let items = value.split(separator: ",").map { String($0.trimmed()) }.filter { !$0.isEmpty }
            guard !items.isEmpty else { return .nobody }
            lists[name] = items
        }
        return AccessPolicy(groups: lists["allowed_groups"] ?? [], emails: lists["allowed_emails"] ?? [], emailDomains: lists["allowed_email_domains"] ?? [])
    }

    /// JSON of the session's identity (never tokens), or 401.
    func userinfo(_ gatewayRequest: GatewayRequest, auth request: AuthRequest, authenticator: any GatewayAuthenticator) {
        let user: SignedInUser?
        switch authenticator.authenticate(request) {
        case .signedIn(let signedIn): user = signedIn
        case .pending(let pending):
            guard let known = authenticator.identity(of: pending) else {
                // Not in this replica's cache: read from the session store first.
                return answerAfter({ await authenticator.resolve(pending, request: request) }, request: gatewayRequest) {
                    guard case .signedIn(let user) = $0 else { return self.userinfoAnswer(nil, request: request) }
                    return self.userinfoAnswer(user, request: request)
                }
            }
            user = known
        case .anonymous, .unavailable: user = nil
        }
        answer(userinfoAnswer(user, request: request), to: gatewayRequest)
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

    private func forwardAuthAnswer(_ user: SignedInUser, route: Route?, queryPolicy: AccessPolicy, request: AuthRequest) -> LocalResponse {
        let routePolicy = route?.auth == .required || route?.auth == .bearer ? route?.policy : nil
        for policy in [queryPolicy, routePolicy ?? .anySignedInUser]
        where policy.decide(user.policySubject) == .deny {
            logger.notice("access denied", metadata: ["endpoint": "/oauth2/auth", "user": "\(user.user)", "rule": "\(policy)", "request_id": "\(request.requestID)"])
            var page = settings.pages.error(.forbidden, .notAllowed(user: user.user), requestID: request.requestID, request: request.headers, signOut: true)
            for cookie in user.setCookies { page.headers.add(name: "Set-Cookie", value: cookie) }
            return page
        }
        var headers: HTTPHeaders = ["Cache-Control": "no-store"]
        if !user.user.isEmpty {
            headers.add(name: "X-Auth-Request-User", value: user.user)
            headers.add(name: "X-Auth-Request-Preferred-Username", value: user.user)
        }
        if !user.email.isEmpty { headers.add(name: "X-Auth-Request-Email", value: user.email) }
        if !user.groups.isEmpty { headers.add(name: "X-Auth-Request-Groups", value: user.groups.joined(separator: ",")) }
        // Only the front proxy may read the token: a page's script calling `/oauth2/auth` itself
        // would otherwise get what the HttpOnly cookie keeps from it.
        // Never the session's token for a route whose app gets a token of its own.
        if settings.forwardAuthAccessToken, peer.isTrusted, route?.tokenExchange == nil {
            headers.add(name: "X-Auth-Request-Access-Token", value: user.accessToken)
        }
        // The route's own headers, for the front proxy to copy (`auth_request_set`); tokens again
        // only for a trusted peer.
        if let route {
            HeaderRewriter.addTemplatedHeaders(
                route.headers, identity: user, tokens: peer.isTrusted && route.tokenExchange == nil, to: &headers)
        }
        for cookie in user.setCookies { headers.add(name: "Set-Cookie", value: cookie) }
        return LocalResponse(status: .accepted, headers: headers, body: "")
    }
}

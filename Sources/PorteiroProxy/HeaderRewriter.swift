public import NIOHTTP1
public import PorteiroConfig
public import PorteiroRouting
import PorteiroSessions

/// Turns the client's request head into the upstream's, and the upstream's response head into the
/// client's (RFC 9110 §7.6.1 hop-by-hop rules). Pure, so every rule has a microsecond unit test.
///
/// What reaches the app is decided per header in one pass, refusal first: a header the app could
/// take as Porteiro's word (identity, forwarding, `Authorization`) passes only when Porteiro set
/// it, the peer is a trusted proxy, or the route opts in.
public struct HeaderRewriter: Sendable {
    /// Set by Porteiro for the upstream; whatever a client sends under these names (or their `_`
    /// twins) is removed on every route, signed in or not, so identity cannot be spoofed.
    public static let identityHeaders: [String] = [
        "x-forwarded-user", "x-forwarded-email", "x-forwarded-groups", "x-forwarded-preferred-username",
        "x-forwarded-access-token", "x-auth-request-user", "x-auth-request-email", "x-auth-request-groups",
        "x-auth-request-preferred-username", "x-auth-request-access-token", "remote-user", "x-remote-user",
        // What other gateways (Authelia, Grafana's auth proxy, Gitea) send: an app set up for one of
        // them trusts these names.
        "remote-email", "remote-groups", "remote-name", "x-remote-email", "x-remote-groups", "x-remote-name", "x-webauth-user",
        "x-forwarded-username", "x-forwarded-roles", "x-auth-user", "x-user", "x-email", "x-authenticated-userid",
        "x-authenticated-user", "x-authenticated-groups", "x-vouch-user",
        // What cloud gateways send (AWS ALB, Google IAP, Cloudflare Access, Azure App Service,
        // Pomerium): an app moved from behind one of them still trusts these.
        "x-amzn-oidc-identity", "x-amzn-oidc-data", "x-amzn-oidc-accesstoken", "x-goog-authenticated-user-email",
        "x-goog-authenticated-user-id", "x-goog-iap-jwt-assertion", "cf-access-authenticated-user-email",
        "cf-access-jwt-assertion", "x-ms-client-principal", "x-ms-client-principal-name", "x-ms-client-principal-id",
        "x-ms-client-principal-idp", "x-ms-token-aad-access-token", "x-ms-token-aad-id-token", "x-pomerium-jwt-assertion",
        "x-pomerium-claim-email", "x-pomerium-claim-groups", "x-pomerium-claim-user",
        // Some servers (IIS, Symfony) route on these, which would bypass Porteiro's routing.
        "x-original-url", "x-rewrite-url",
    ]

    /// Headers that speak for the client or for the front of the request chain: its address, the
    /// scheme, host, port, prefix and URI it used, its certificate, or a method to use instead.
    /// Apps use them for allow-lists, audit and links, so they pass only from `trusted_proxies`.
    public static let forwardingHeaders: [String] = [
        "forwarded", "x-forwarded-for", "x-forwarded-proto", "x-forwarded-host", "x-forwarded-port",
        "x-forwarded-prefix", "x-forwarded-server", "x-forwarded-uri", "x-forwarded-method", "x-forwarded-ssl",
        "x-forwarded-scheme", "x-forwarded-client-cert", "x-real-ip", "true-client-ip", "x-client-ip", "client-ip",
        "cf-connecting-ip", "x-cluster-client-ip", "fastly-client-ip", "x-original-uri", "x-original-method",
        "x-original-host", "x-host", "x-url-scheme", "x-scheme", "front-end-https", "x-http-method-override",
        "x-http-method", "x-method-override", "x-ssl-client-cert", "ssl-client-cert", "x-client-cert",
        "x-ssl-client-verify", "x-ssl-client-s-dn", "x-ssl-client-dn", "x-client-verify", "x-client-dn",
    ]

    /// Porteiro's own cookies are named this or this plus `_…` (session chunks, login state),
    /// optionally behind `__Host-`; none of them reaches an upstream.
    public var cookiePrefix: String?
    /// `identityHeaders` plus every name routes configured under `identity_headers` and `headers`.
    public let strippedHeaders: HeaderNameSet
    let forwarding = HeaderNameSet(Self.forwardingHeaders)
    /// RFC 9110 §7.6.1, `HTTP2-Settings` (RFC 7540 §3.2.1), plus `Proxy-*` (`isProxyHeader`) and
    /// whatever `Connection` names.
    static let hopByHopNames = ["connection", "keep-alive", "te", "trailer", "transfer-encoding", "upgrade", "http2-settings"]
    let hopByHop = HeaderNameSet(Self.hopByHopNames)
    /// `server.trusted_proxies`, to find the client's address in `X-Forwarded-For`.
    let trustedProxies: [IPRange]
    /// `server.underscores_in_headers: false` (the default, as nginx): a client header whose name
    /// holds `_` never reaches the app.
    let dropsUnderscoreHeaders: Bool

    public init(
        cookiePrefix: String?, customIdentityHeaders: [String] = [], trustedProxies: [IPRange] = [],
        dropsUnderscoreHeaders: Bool = true
    ) {
        self.cookiePrefix = cookiePrefix
        self.strippedHeaders = HeaderNameSet(Self.identityHeaders + customIdentityHeaders)
        self.trustedProxies = trustedProxies
        self.dropsUnderscoreHeaders = dropsUnderscoreHeaders
    }

    /// Facts about the client connection that the rewrite needs.
    public struct Peer: Sendable {
        /// The client's address as text, for `X-Forwarded-For`.
        public var address: String
        /// True when the peer is in `server.trusted_proxies`: its forwarding headers are believed.
        public var isTrusted: Bool
        public var isTLS: Bool

        public init(address: String, isTrusted: Bool, isTLS: Bool) {
            self.address = address
            self.isTrusted = isTrusted
            self.isTLS = isTLS
        }
    }

    /// The head to send upstream. `upgrade` keeps a WebSocket handshake's `Connection: upgrade`
    /// and `Upgrade`; a signed-in `identity` adds the bearer token and identity headers the route
    /// asks for.
    public func upstreamRequest(
        _ head: HTTPRequestHead, route: Route, target: RequestTarget, peer: Peer, requestID: String,
        upgrade: WebSocketUpgrade?, identity: SignedInUser? = nil
    ) -> HTTPRequestHead {
        let clientHost = head.headers.first(name: "host") ?? target.authority ?? route.upstream.hostHeader
        let isChunked = head.headers.contains(name: "transfer-encoding")
        let namedByConnection = namedByConnection(head.headers)
        var headers = HTTPHeaders()
        headers.reserveCapacity(head.headers.count + 8)
        var forwardedFor: [String] = []
        var cookies: [String] = []
        var trustedProto: String?
        var trustedHost: String?
        for (name, value) in head.headers {
            if dropsUnderscoreHeaders, name.utf8.contains(UInt8(ascii: "_")) { continue }
            if hopByHop.contains(name) || namedByConnection?.contains(name) == true || Self.isProxyHeader(name) { continue }
            if strippedHeaders.contains(name) { continue }
            if forwarding.contains(name) {
                guard peer.isTrusted else { continue }
                switch name.lowercased() {
                case "x-forwarded-for": forwardedFor.append(value)
                case "x-forwarded-proto": trustedProto = trustedProto ?? value
                case "x-forwarded-host": trustedHost = trustedHost ?? value
                case "x-real-ip": break  // set below from the address chain
                default: headers.add(name: name, value: value)
                }
                continue
            }
            switch name.lowercased() {
            case "host", "expect", "x-request-id": continue
            case "authorization" where !route.passClientAuthorization: continue
            case "cookie" where cookiePrefix != nil: cookies.append(value)
            default: headers.add(name: name, value: value)
            }
        }
        if let cookiePrefix, let kept = Self.cookiesWithout(prefix: cookiePrefix, in: cookies) {
            headers.add(name: "Cookie", value: kept)
        }
        headers.add(name: "X-Forwarded-For", value: (forwardedFor + [peer.address]).joined(separator: ", "))
        headers.add(name: "X-Real-IP", value: clientAddress(peer: peer, forwardedFor: forwardedFor))
        headers.add(name: "X-Forwarded-Proto", value: trustedProto ?? (peer.isTLS ? "https" : "http"))
        headers.add(name: "X-Forwarded-Host", value: trustedHost ?? clientHost)
        headers.add(name: "X-Request-Id", value: requestID)
        headers.add(name: "Host", value: route.preserveHost ? clientHost : route.upstream.hostHeader)

        if let identity { Self.addIdentity(identity, route: route, to: &headers) }
        if isChunked {
            headers.add(name: "Transfer-Encoding", value: "chunked")
            headers.remove(name: "content-length")
        }
        if upgrade != nil {
            headers.add(name: "Connection", value: "upgrade")
            headers.add(name: "Upgrade", value: "websocket")
        }
        let uri = route.upstreamPath(for: target) + target.query
        return HTTPRequestHead(version: .http1_1, method: head.method, uri: uri, headers: headers)
    }

    /// The client's address as nginx's realip module finds it (`real_ip_recursive on`): from a
    /// trusted peer, the right-most `X-Forwarded-For` entry that is not itself a trusted proxy;
    /// otherwise the peer. Reading stops at an entry that is no IP address.
    func clientAddress(peer: Peer, forwardedFor: [String]) -> String {
        guard peer.isTrusted, !forwardedFor.isEmpty else { return peer.address }
        var client = peer.address
        for entry in forwardedFor.flatMap({ $0.split(separator: ",") }).reversed() {
            let text = String(entry.trimmed())
            guard let bytes = IPRange.parseAddress(text) else { break }
            client = text
            if !trustedProxies.contains(where: { $0.contains(bytes) }) { break }
        }
        return client
    }

    /// The head to send the client, built in one pass over the upstream's headers: hop-by-hop
    /// headers and those `Connection` names dropped, Porteiro's own cookies and the app's
    /// `X-Request-Id` filtered. Body framing is left to NIO's response encoder, which knows the
    /// request method (HEAD) and the client's HTTP version. An app can never set, replace or delete
    /// Porteiro's own cookies (one app planting a session that another then believes).
    public func clientResponse(_ head: HTTPResponseHead, clientKeepAlive: Bool, requestID: String) -> HTTPResponseHead {
        let upgrade = head.status == .switchingProtocols ? head.headers.first(name: "upgrade") : nil
        let namedByConnection = namedByConnection(head.headers)
        var headers = HTTPHeaders()
        headers.reserveCapacity(head.headers.count + 2)
        for (name, value) in head.headers {
            if hopByHop.contains(name) || Self.isProxyHeader(name) || namedByConnection?.contains(name) == true { continue }
            // Porteiro's id, the one in its access log and error pages: an app's own would send the
            // person reporting a problem to the wrong log lines.
            if Self.requestIDName.contains(name) { continue }
            if let cookiePrefix, Self.setCookieName.contains(name), Self.isPorteiroCookie(setCookie: value, prefix: cookiePrefix) {
                continue
            }
            headers.add(name: name, value: value)
        }
        if let upgrade {
            headers.add(name: "Connection", value: "upgrade")
            headers.add(name: "Upgrade", value: upgrade)
        } else if !clientKeepAlive {
            headers.add(name: "Connection", value: "close")
        }
        headers.add(name: "X-Request-Id", value: requestID)
        return HTTPResponseHead(version: .http1_1, status: head.status, headers: headers)
    }

    private static let requestIDName = HeaderNameSet(["x-request-id"])
    private static let setCookieName = HeaderNameSet(["set-cookie"])

    /// The names a `Connection` header lists (hop-by-hop for this message), except the framing
    /// ones a peer must not be able to drop and those dropped anyway (`keep-alive`, `upgrade`, …);
    /// nil when that leaves none, as for nearly every message.
    func namedByConnection(_ headers: HTTPHeaders) -> HeaderNameSet? {
        guard headers.contains(name: "connection") else { return nil }
        let names = headers.elements("connection").map { String($0) }.filter { !Self.isFramingHeader($0) && !hopByHop.contains($0) }
        return names.isEmpty ? nil : HeaderNameSet(names)
    }

    /// The access token replaces whatever `Authorization` the client sent: the app must only ever
    /// see the token Porteiro vouches for.
    static func addIdentity(_ identity: SignedInUser, route: Route, to headers: inout HTTPHeaders) {
        if route.passAccessToken, !identity.accessToken.isEmpty {
            headers.replaceOrAdd(name: "Authorization", value: "Bearer \(identity.accessToken)")
        }
        if route.passIdentityHeaders {
            let names = route.identityHeaders
            if !identity.user.isEmpty {
                headers.add(name: names.user, value: identity.user)
                headers.add(name: names.preferredUsername, value: identity.user)
            }
            if !identity.email.isEmpty { headers.add(name: names.email, value: identity.email) }
            if !identity.groups.isEmpty { headers.add(name: names.groups, value: identity.groups.joined(separator: ",")) }
        }
        addTemplatedHeaders(route.headers, identity: identity, tokens: true, to: &headers)
    }

    /// `routes[].headers` filled in from `identity`; one whose value is missing is left out (and
    /// replaces a fixed identity header of the same name). `tokens: false` leaves out those that
    /// carry a token.
    public static func addTemplatedHeaders(
        _ templated: [TemplatedHeader], identity: SignedInUser, tokens: Bool, to headers: inout HTTPHeaders
    ) {
        for header in templated {
            headers.remove(name: header.name)
            if !tokens, header.template.sources.contains(where: \.isToken) { continue }
            if let value = header.template.render(identity.headerValues) { headers.add(name: header.name, value: value) }
        }
    }

    /// `Proxy-*` (`Proxy-Authorization`, `Proxy-Connection`): meant for a proxy, never the app.
    static func isProxyHeader(_ name: String) -> Bool {
        name.utf8.count > 6 && name.utf8.prefix(6).map(HeaderNameSet.fold).elementsEqual("proxy-".utf8)
    }

    /// A client must not be able to drop framing by naming it in `Connection`.
    private static func isFramingHeader(_ name: String) -> Bool {
        name.lowercased() == "content-length" || name.lowercased() == "host"
    }

    /// True when a `Set-Cookie` value names one of Porteiro's cookies (any case of `__Host-`, leading
    /// spaces ignored, as browsers do).
    static func isPorteiroCookie(setCookie value: String, prefix: String) -> Bool {
        var name = value.prefix { $0 != "=" && $0 != ";" }.drop { $0 == " " || $0 == "\t" }
        while name.last == " " || name.last == "\t" { name = name.dropLast() }
        if name.lowercased().hasPrefix("__host-") || name.lowercased().hasPrefix("__secure-") {
            name = name.drop { $0 != "-" }.dropFirst()
        }
        return name == prefix || name.hasPrefix(prefix + "_")
    }

    /// The `Cookie` values without Porteiro's own cookies, joined; nil when none is left.
    static func cookiesWithout(prefix: String, in values: [String]) -> String? {
        let chunkPrefix = prefix + "_"
        var kept = ""
        for value in values {
            CookieHeader.forEachPair(in: value) { name, _, pair in
                let bare = name.hasPrefix("__Host-") ? name.dropFirst(7) : name
                guard !(bare == prefix || bare.hasPrefix(chunkPrefix)) else { return }
                if !kept.isEmpty { kept += "; " }
                kept += pair
            }
        }
        return kept.isEmpty ? nil : kept
    }
}

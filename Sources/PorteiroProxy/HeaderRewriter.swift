public import NIOHTTP1
public import PorteiroRouting
import PorteiroSessions

/// Turns the client's request head into the upstream's, and the upstream's response head into the
/// client's (RFC 9110 §7.6.1 hop-by-hop rules). Pure, so every rule has a microsecond unit test.
public struct HeaderRewriter: Sendable {
    /// Set by Porteiro for the upstream; whatever a client sends under these names is removed
    /// on every route, signed in or not, so identity cannot be spoofed.
    public static let identityHeaders: [String] = [
        "x-forwarded-user", "x-forwarded-email", "x-forwarded-groups", "x-forwarded-preferred-username",
        "x-forwarded-access-token", "x-auth-request-user", "x-auth-request-email", "x-auth-request-groups",
        "x-auth-request-preferred-username", "x-auth-request-access-token",
        // Some servers (IIS, Symfony) route on these, which would bypass Porteiro's routing.
        "x-original-url", "x-rewrite-url",
    ]

    /// Porteiro's own cookies are named this or this plus `_…` (session chunks, login state),
    /// optionally behind `__Host-`; none of them reaches an upstream.
    public var cookiePrefix: String?
    /// `identityHeaders` plus every name routes configured under `identity_headers`, lowercased.
    public var strippedHeaders: [String]

    public init(cookiePrefix: String?, customIdentityHeaders: [String] = []) {
        self.cookiePrefix = cookiePrefix
        let custom = customIdentityHeaders.map { $0.lowercased() }.filter { !Self.identityHeaders.contains($0) }
        self.strippedHeaders = Self.identityHeaders + Set(custom).sorted()
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

    /// The head to send upstream. `isUpgrade` keeps `Connection: upgrade` and `Upgrade`; a
    /// signed-in `identity` adds the bearer token and identity headers the route asks for.
    public func upstreamRequest(
        _ head: HTTPRequestHead, route: Route, target: RequestTarget, peer: Peer, requestID: String, isUpgrade: Bool,
        identity: SignedInUser? = nil
    ) -> HTTPRequestHead {
        var headers = head.headers
        let clientHost = target.authority ?? headers.first(name: "host") ?? route.upstream.hostHeader
        let isChunked = headers.contains(name: "transfer-encoding")
        Self.removeHopByHop(&headers)
        for name in strippedHeaders { headers.remove(name: name) }
        headers.remove(name: "expect")
        if let cookiePrefix { Self.removeCookies(startingWith: cookiePrefix, from: &headers) }

        let forwardedFor = headers[canonicalForm: "x-forwarded-for"]
        headers.remove(name: "x-forwarded-for")
        if peer.isTrusted, !forwardedFor.isEmpty {
            headers.add(name: "X-Forwarded-For", value: forwardedFor.joined(separator: ", ") + ", " + peer.address)
        } else {
            headers.add(name: "X-Forwarded-For", value: peer.address)
        }
        if !peer.isTrusted || !headers.contains(name: "x-forwarded-proto") {
            headers.replaceOrAdd(name: "X-Forwarded-Proto", value: peer.isTLS ? "https" : "http")
        }
        if !peer.isTrusted || !headers.contains(name: "x-forwarded-host") {
            headers.replaceOrAdd(name: "X-Forwarded-Host", value: clientHost)
        }
        if !peer.isTrusted { headers.remove(name: "forwarded") }
        headers.replaceOrAdd(name: "X-Request-Id", value: requestID)
        headers.replaceOrAdd(name: "Host", value: route.preserveHost ? clientHost : route.upstream.hostHeader)

        if let identity { Self.addIdentity(identity, route: route, to: &headers) }
        if isChunked {
            headers.add(name: "Transfer-Encoding", value: "chunked")
            headers.remove(name: "content-length")
        }
        if isUpgrade, let upgrade = head.headers.first(name: "upgrade") {
            headers.add(name: "Connection", value: "upgrade")
            headers.add(name: "Upgrade", value: upgrade)
        }
        let uri = route.upstreamPath(for: target) + target.query
        return HTTPRequestHead(version: .http1_1, method: head.method, uri: uri, headers: headers)
    }

    /// The head to send the client. Body framing is left to NIO's response encoder, which knows
    /// the request method (HEAD) and the client's HTTP version.
    public func clientResponse(_ head: HTTPResponseHead, clientKeepAlive: Bool, requestID: String) -> HTTPResponseHead {
        var headers = head.headers
        let upgrade = head.status == .switchingProtocols ? headers.first(name: "upgrade") : nil
        Self.removeHopByHop(&headers)
        if let upgrade {
            headers.add(name: "Connection", value: "upgrade")
            headers.add(name: "Upgrade", value: upgrade)
        } else if !clientKeepAlive {
            headers.add(name: "Connection", value: "close")
        }
        if !headers.contains(name: "x-request-id") { headers.add(name: "X-Request-Id", value: requestID) }
        return HTTPResponseHead(version: .http1_1, status: head.status, headers: headers)
    }

    /// The access token replaces whatever `Authorization` the client sent: the app must only ever
    /// see the token Porteiro vouches for.
    static func addIdentity(_ identity: SignedInUser, route: Route, to headers: inout HTTPHeaders) {
        if route.passAccessToken {
            headers.replaceOrAdd(name: "Authorization", value: "Bearer \(identity.accessToken)")
        }
        guard route.passIdentityHeaders else { return }
        let names = route.identityHeaders
        headers.add(name: names.user, value: identity.user)
        headers.add(name: names.preferredUsername, value: identity.user)
        if !identity.email.isEmpty { headers.add(name: names.email, value: identity.email) }
        if !identity.groups.isEmpty { headers.add(name: names.groups, value: identity.groups.joined(separator: ",")) }
    }

    /// Connection and the headers it names, Keep-Alive, TE, Trailer, Transfer-Encoding, Upgrade,
    /// Proxy-*. Content-Length stays: it frames the body that follows.
    static func removeHopByHop(_ headers: inout HTTPHeaders) {
        for value in headers[canonicalForm: "connection"] where !isFramingHeader(value) {
            headers.remove(name: String(value))
        }
        for name in ["connection", "keep-alive", "te", "trailer", "transfer-encoding", "upgrade"] {
            headers.remove(name: name)
        }
        if headers.contains(where: { $0.name.utf8.count > 6 && $0.name.lowercased().hasPrefix("proxy-") }) {
            let names = headers.map(\.name).filter { $0.lowercased().hasPrefix("proxy-") }
            names.forEach { headers.remove(name: $0) }
        }
    }

    /// A client must not be able to drop framing by naming it in `Connection`.
    private static func isFramingHeader(_ name: Substring) -> Bool {
        name.lowercased() == "content-length" || name.lowercased() == "host"
    }

    static func removeCookies(startingWith prefix: String, from headers: inout HTTPHeaders) {
        let values = headers["cookie"]
        guard !values.isEmpty else { return }
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
        headers.remove(name: "cookie")
        if !kept.isEmpty { headers.add(name: "Cookie", value: kept) }
    }
}

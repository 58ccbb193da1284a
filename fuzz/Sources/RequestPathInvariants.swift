import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import PorteiroProxy
import PorteiroRouting

/// What both sides of the gateway saw during one input.
final class Recording: Sendable {
    struct UpstreamRequest {
        var upstream: String
        var channel: ObjectIdentifier
        var head: HTTPRequestHead
    }

    private let state = NIOLockedValueBox<(client: [HTTPRequestHead], answers: [HTTPResponseHead], upstream: [UpstreamRequest])>(([], [], []))

    func clientSent(_ head: HTTPRequestHead) { state.withLockedValue { $0.client.append(head) } }
    func clientGot(_ head: HTTPResponseHead) { state.withLockedValue { $0.answers.append(head) } }
    func upstreamGot(_ request: UpstreamRequest) { state.withLockedValue { $0.upstream.append(request) } }

    func requests(to upstream: String, on channel: ObjectIdentifier) -> Int {
        state.withLockedValue { $0.upstream.filter { $0.upstream == upstream && $0.channel == channel }.count }
    }

    func check(trusted: Bool, peer: String) {
        let (client, answers, upstream) = state.withLockedValue { $0 }
        for request in upstream { Self.check(request, trusted: trusted, peer: peer) }
        for answer in answers { Self.check(answer) }
        // Answers come back in request order (pipelining); a head refused by the decoder has none.
        let finalAnswers = answers.filter { $0.status.code >= 200 || $0.status == .switchingProtocols }
        for (request, answer) in zip(client, finalAnswers) where answer.status == .accepted {
            Self.checkForwardAuth(request, trusted: trusted)
        }
    }

    static let identityNames = HeaderNameSet(HeaderRewriter.identityHeaders + ["x-remote-user"])
    static let forwarding = HeaderNameSet(HeaderRewriter.forwardingHeaders)
    static let setByPorteiro: Set<String> = ["x-forwarded-for", "x-forwarded-proto", "x-forwarded-host", "x-real-ip"]

    /// What an upstream may receive, by the route that leads to it.
    static func check(_ request: UpstreamRequest, trusted: Bool, peer: String) {
        let headers = request.head.headers
        let user = headers.first(name: "x-forwarded-user") ?? headers.first(name: "x-remote-user")
        for (name, value) in headers {
            if name.utf8.contains(UInt8(ascii: "_")) { RequestPathTarget.violated("\(name) reached \(request.upstream)") }
            if identityNames.contains(name), !["maria", "joao", "api-client", "admins", "maria@example.org", "joao@example.org"].contains(value) {
                RequestPathTarget.violated("a client's \(name) reached \(request.upstream)")
            }
            if !trusted, forwarding.contains(name), !setByPorteiro.contains(name.lowercased()) {
                RequestPathTarget.violated("\(name) from an untrusted client reached \(request.upstream)")
            }
        }
        if !trusted, headers["x-forwarded-for"] != [peer] || headers["x-real-ip"] != [peer] {
            RequestPathTarget.violated("an untrusted client's address chain reached \(request.upstream)")
        }
        let authorization = headers["authorization"]
        switch request.upstream {
        case "admin":
            guard user == "maria", headers.first(name: "x-forwarded-groups") == "admins" else {
                RequestPathTarget.violated("the admins-only app got \(request.head.method) \(request.head.uri) for \(user ?? "nobody")")
            }
        case "app":
            let path = request.head.uri.prefix { $0 != "?" }
            guard user != nil || path == "/app/health" || isOptional(request.head) else {
                RequestPathTarget.violated("the login app got \(request.head.uri) without a session")
            }
        case "api":
            guard authorization == ["Bearer good-token"] else { RequestPathTarget.violated("the API got \(authorization)") }
        case "own":
            return
        default:
            guard user == nil, authorization.isEmpty else { RequestPathTarget.violated("the public app got an identity or a credential") }
        }
        if request.upstream != "api", authorization.contains(where: { $0 != "Bearer session-token" }) {
            RequestPathTarget.violated("a client's Authorization reached \(request.upstream)")
        }
    }

    /// `/opt/` (auth: optional) shares the login app's upstream and may pass anonymous requests.
    static func isOptional(_ head: HTTPRequestHead) -> Bool {
        head.uri.hasPrefix("/opt/") || head.uri == "/opt"
    }

    static func check(_ answer: HTTPResponseHead) {
        guard (100...599).contains(answer.status.code) else { RequestPathTarget.violated("status \(answer.status.code)") }
        for (name, value) in answer.headers {
            let bad = name.isEmpty || name.utf8.contains { $0 <= 0x20 || $0 == 0x7f || $0 == UInt8(ascii: ":") }
                || value.utf8.contains { $0 == 0 || $0 == 0x0a || $0 == 0x0d }
            if bad { RequestPathTarget.violated("malformed answer header \(name.debugDescription)") }
        }
    }

    /// A 202 from `/oauth2/auth` only for an original URI that parses, from a trusted peer, and for
    /// the admin routes only with an admin signed in.
    static func checkForwardAuth(_ request: HTTPRequestHead, trusted: Bool) {
        guard case .success(let target) = RequestTarget.parse(request.uri), target.routingPath == "/oauth2/auth" else { return }
        let uris = ["x-forwarded-uri", "x-original-url", "x-original-uri"].flatMap { request.headers[$0] }
        guard let uri = uris.first else { return }
        guard trusted else { RequestPathTarget.violated("202 for an original URI from an untrusted peer") }
        guard case .success(let original) = RequestTarget.parse(uri) else { RequestPathTarget.violated("202 for unparseable \(uri.debugDescription)") }
        let path = original.routingPath
        let folded = path.lowercased()
        let host = (request.headers.first(name: "x-forwarded-host") ?? request.headers.first(name: "host") ?? "")
            .lowercased().split(separator: ":").first.map { $0.hasSuffix(".") ? $0.dropLast() : $0 }
        let adminOnly = path == "/admin" || path.hasPrefix("/admin/") || folded == "/iis" || folded.hasPrefix("/iis/")
            || host == "portal.example.org"
        if adminOnly, !CookieHeaderValues(request.headers).contains("s=maria") {
            RequestPathTarget.violated("202 for \(uri.debugDescription) without an admin")
        }
    }
}

/// Records the heads between the client and `GatewayHandler`, passing everything on; leaves at a
/// `101`, after which the connection carries raw bytes.
final class ClientRecorder: ChannelDuplexHandler, RemovableChannelHandler, @unchecked Sendable {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    let record: Recording

    init(record: Recording) {
        self.record = record
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .head(let head) = unwrapInboundIn(data) { record.clientSent(head) }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        guard case .head(let head) = unwrapOutboundIn(data) else { return context.write(data, promise: promise) }
        record.clientGot(head)
        context.write(data, promise: promise)
        if head.status == .switchingProtocols { context.pipeline.syncOperations.removeHandler(context: context, promise: nil) }
    }
}

/// Records the request heads an upstream connection is sent.
final class UpstreamRecorder: ChannelOutboundHandler, @unchecked Sendable {
    typealias OutboundIn = HTTPClientRequestPart
    let upstream: String
    let record: Recording

    init(upstream: String, record: Recording) {
        self.upstream = upstream
        self.record = record
    }

    /// Whether the last head written says how its body is framed.
    private var framed = true

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head(let head):
            record.upstreamGot(Recording.UpstreamRequest(upstream: upstream, channel: ObjectIdentifier(context.channel), head: head))
            framed = head.headers.contains(name: "content-length") || head.headers.contains(name: "transfer-encoding")
        case .body(let body) where body.readableBytes > 0 && !framed:
            // The app would read these bytes as a request of their own (the HTTP/2 smuggling).
            RequestPathTarget.violated("body bytes without framing reached \(upstream)")
        default:
            break
        }
        context.write(data, promise: promise)
    }
}

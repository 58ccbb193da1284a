import NIOCore
import NIOHTTP1
import PorteiroConfig
import PorteiroRouting

/// One request/response pair being proxied, from the client's head to both `.end`s. Pure data:
/// `ExchangeStateMachine` decides what happens to it.
struct ProxyExchange {
    var request: GatewayRequest
    let route: Route
    /// Kept so a request can be sent again on a fresh connection (see `canRetry`).
    var upstreamHead: HTTPRequestHead
    /// `Set-Cookie` values Porteiro adds to the upstream's response (a refreshed session).
    var responseCookies: [String] = []
    /// The WebSocket handshake this request opens, if it is one; a `101` must answer it.
    let upgrade: WebSocketUpgrade?
    /// This connection's count of exchanges: a response timer names the exchange it was armed for.
    var number = 0

    /// Parts that arrived while the upstream connection was being leased.
    var buffered: [HTTPClientRequestPart] = []
    var requestComplete = false
    var responseHeadReceived = false
    var upstreamKeepAlive = true
    var status: UInt = 0
    var responseBytes = 0
    var retried = false
    /// True once the response timer runs for this exchange (it is armed once, when the request
    /// has been sent whole).
    var responseTimerArmed = false

    init(request: GatewayRequest, route: Route, upstreamHead: HTTPRequestHead, upgrade: WebSocketUpgrade?) {
        self.request = request
        self.route = route
        self.upstreamHead = upstreamHead
        self.upgrade = upgrade
    }

    var requestID: String { request.requestID }
    var log: AccessLogEntry { request.log }
    var clientKeepAlive: Bool { request.keepAlive }
    /// The client's headers, to choose an error page's format.
    var clientHeaders: HTTPHeaders { request.head.headers }

    /// A reused connection can be closed by the upstream just as we send on it; then an
    /// idempotent request without a body is sent once more on a new connection (RFC 9110 §9.2.2).
    func canRetry(onReused isReused: Bool) -> Bool {
        isReused && !retried && !responseHeadReceived && !request.hasBody && upstreamHead.method.isIdempotent
    }
}

/// What the request head says about the body that follows it.
public enum RequestFraming {
    static func hasBody(_ headers: HTTPHeaders) -> Bool {
        if headers.contains(name: "transfer-encoding") { return true }
        return headers.first(name: "content-length").map { $0 != "0" } ?? false
    }

    /// `name[:port]`, `address[:port]` or `[v6][:port]`, each label non-empty (one trailing dot
    /// allowed): a `Host` nothing else reads differently. `a:80:80`, `a..b`, `.a`, `a b`, `user@a`
    /// are refused — a server behind could still pick a virtual host from them.
    public static func isHost(_ text: String) -> Bool {
        guard let (host, _) = splitHostPort(Substring(text), defaultPort: 0), !host.isEmpty else { return false }
        // Brackets hold an IPv6 address and nothing else: `[portal.example.org]` is no host.
        if text.hasPrefix("[") { return IPRange.parseAddress(host)?.count == 16 }
        // No empty label: not empty, no leading dot, no `..` (one trailing dot is allowed).
        let name = host.utf8.last == UInt8(ascii: ".") ? host.utf8.dropLast() : host.utf8[...]
        var previous = UInt8(ascii: ".")
        for byte in name {
            if byte == UInt8(ascii: "."), previous == UInt8(ascii: ".") { return false }
            previous = byte
        }
        return !name.isEmpty && previous != UInt8(ascii: ".")
    }

    /// True when an absolute-form target's authority names the host `Host` names (RFC 9112 §3.2.2
    /// lets a server prefer either; Porteiro refuses a request whose two hosts disagree, since the
    /// route and the app could each pick another). An explicit default port counts as none.
    public static func sameHost(_ authority: String, _ host: String?) -> Bool {
        guard let host else { return true }
        func canonical(_ text: String) -> String {
            var lowered = text.lowercased()
            for port in [":80", ":443"] where lowered.hasSuffix(port) { lowered.removeLast(port.count) }
            return lowered
        }
        return canonical(authority) == canonical(host)
    }

    /// Why a head cannot be forwarded safely, or nil. Porteiro and the upstream must agree where
    /// each request ends, or one request can smuggle another past the gateway.
    /// (Header size and count limits are the decoder's, see `GatewayPipeline`.)
    static func problem(in head: HTTPRequestHead, maxHeaderCount: Int) -> (HTTPResponseStatus, PageText)? {
        // The HTTP/1 decoder counts too; HTTP/2 header blocks arrive whole, so this is their limit.
        if head.headers.count > maxHeaderCount { return (.requestHeaderFieldsTooLarge, .unreadable) }
        let hosts = head.headers.elements("host")
        if hosts.count > 1 || (head.version.major == 1 && head.version.minor >= 1 && hosts.isEmpty) {
            return (.badRequest, .oneHost)
        }
        // The value as it will be routed on and forwarded, untrimmed (HTTP/2 trims nothing).
        if let host = head.headers.first(name: "host"), !isHost(host) { return (.badRequest, .badHost) }
        let codings = head.headers.elements("transfer-encoding")
        if !codings.isEmpty {
            guard codings.count == 1, codings[0].lowercased() == "chunked" else {
                return (.notImplemented, .chunkedOnly)
            }
            if head.headers.contains(name: "content-length") {
                return (.badRequest, .ambiguousLength)
            }
        }
        let lengths = head.headers.elements("content-length")
        if lengths.count > 1 || lengths.contains(where: { UInt64($0) == nil }) {
            return (.badRequest, .ambiguousLength)
        }
        return nil
    }
}

extension HTTPMethod {
    var isIdempotent: Bool {
        switch self {
        case .GET, .HEAD, .OPTIONS, .TRACE, .PUT, .DELETE: return true
        default: return false
        }
    }
}

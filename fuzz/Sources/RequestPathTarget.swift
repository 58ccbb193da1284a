import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOEmbedded
import NIOHPACK
import NIOHTTP1
import NIOHTTP2
import PorteiroConfig
import PorteiroProxy
import PorteiroRouting

/// The whole request path as one target: arbitrary bytes from a client (HTTP/1.1, or an HTTP/2
/// header block) through the real gateway pipeline — decoder, `GatewayHandler`, routing, policy,
/// forward-auth, header rewriting, the upstream pool — to in-memory upstreams, with every route
/// kind configured. Parsers fuzzed one by one missed what only the whole path shows (a header that
/// trapped every error page; forward-auth admitting on a URI it could not parse).
///
/// Input: one flags byte (bit 0: the client is a trusted proxy), then the client's bytes; after
/// `~~upstream~~`, the bytes every upstream answers with (else a plain 200).
///
/// Invariants, checked on every input (a broken one is a `fatalError`, reported like a crash):
/// - each upstream gets only what its route admits: the `allow: groups [admins]` app only admins,
///   the login app only signed-in users (or its skip-auth path), the API only its valid token;
/// - no upstream ever sees a client's identity header, a header with `_`, a client's
///   `Authorization` (unless the route opts in), or forwarding headers from an untrusted client;
/// - `/oauth2/auth` never answers 202 for an original URI that does not parse, from an untrusted
///   peer, or for the admin route without an admin;
/// - every answer head is well formed.
enum RequestPathTarget {
    static let marker = Array("~~upstream~~".utf8)
    static let trustedPeer = "192.0.2.1"
    static let untrustedPeer = "203.0.113.1"

    static let settings: GatewaySettingsBox = {
        var admin = RouteConfig(path: "/admin/", upstream: "http://admin:8080")
        admin.allow = RouteConfig.Allow()
        admin.allow?.groups = ["admins"]
        var ignoringCase = RouteConfig(path: "/iis/", upstream: "http://admin:8080")
        ignoringCase.allow = admin.allow
        ignoringCase.caseInsensitive = true
        var app = RouteConfig(path: "/app/", upstream: "http://app:8080")
        app.skipAuth = [RouteConfig.SkipAuth(path: "/app/health")]
        var api = RouteConfig(path: "/api/", upstream: "http://api:8080", auth: .bearer)
        api.audiences = ["api"]
        var own = RouteConfig(path: "/own/", upstream: "http://own:8080", auth: .none)
        own.passClientAuthorization = true
        var portal = RouteConfig(host: "portal.example.org", path: "/", upstream: "http://admin:8080")
        portal.allow = admin.allow
        var stripped = RouteConfig(path: "/files/", upstream: "http://public:8080", auth: .none)
        stripped.stripPrefix = true
        var config = GatewayConfig(routes: [
            admin, ignoringCase, app, api, own, portal, stripped,
            RouteConfig(path: "/opt/", upstream: "http://app:8080", auth: .optional),
            RouteConfig(path: "/", upstream: "http://public:8080", auth: .none),
        ])
        config.server.trustedProxies = ["192.0.2.0/24"]
        config.routes[2].identityHeaders.user = "X-Remote-User"
        return GatewaySettingsBox(try! GatewaySettings(config: config, authenticator: FuzzAuthenticator()))
    }()

    static func http1(_ bytes: [UInt8]) {
        guard let flags = bytes.first else { return }
        let (request, answer) = split(Array(bytes.dropFirst()))
        FuzzTargets.blocking { await Exchange(trusted: flags & 1 == 1, upstreamAnswer: answer).run(http1: request) }
    }

    /// An HTTP/2 stream: the client's bytes as header lines (`name: value`), then a blank line
    /// and the body.
    static func http2(_ bytes: [UInt8]) {
        guard let flags = bytes.first else { return }
        let (request, answer) = split(Array(bytes.dropFirst()))
        FuzzTargets.blocking { await Exchange(trusted: flags & 1 == 1, upstreamAnswer: answer).run(http2: request) }
    }

    static func split(_ bytes: [UInt8]) -> (request: [UInt8], answer: [UInt8]) {
        guard bytes.count >= marker.count,
            let at = (0...(bytes.count - marker.count)).first(where: { bytes[$0..<($0 + marker.count)].elementsEqual(marker) })
        else { return (bytes, Array("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok".utf8)) }
        return (Array(bytes[..<at]), Array(bytes[(at + marker.count)...]))
    }

    static func violated(_ invariant: String) -> Never {
        fatalError("request-path invariant broken: \(invariant)")
    }
}

/// Signs in from `Cookie: s=maria` (group admins) or `s=joao` (no group); `s=later` needs a trip
/// off the event loop (a refresh) and comes back as joao. Bearer token `good-token` is valid.
final class FuzzAuthenticator: GatewayAuthenticator {
    let inFlight = NIOLockedValueBox(0)
    var isReady: Bool { true }
    var revocationGeneration: UInt64 { 0 }

    static func user(_ name: String) -> SignedInUser {
        SignedInUser(user: name, email: "\(name)@example.org", groups: name == "maria" ? ["admins"] : [], accessToken: "session-token")
    }

    func authenticate(_ request: AuthRequest) -> Authentication {
        let cookies = CookieHeaderValues(request.headers)
        if cookies.contains("s=maria") { return .signedIn(Self.user("maria")) }
        if cookies.contains("s=joao") { return .signedIn(Self.user("joao")) }
        if cookies.contains("s=later") { return .pending(PendingSession(cookieValue: "later", session: nil)) }
        return .anonymous(clearCookies: [])
    }

    func cachedBearer(_ token: String, audiences: Set<String>, providers: [Int], now: Int64) -> SignedInUser? {
        token == "good-token" ? SignedInUser(user: "api-client", email: "", groups: [], accessToken: token) : nil
    }

    func verifyBearer(_ token: String, audiences: Set<String>, providers: [Int], now: Int64) async -> SignedInUser? { counted { nil } }
    func identity(of pending: PendingSession) -> SignedInUser? { nil }
    func resolve(_ pending: PendingSession, request: AuthRequest) async -> Authentication { counted { .signedIn(Self.user("joao")) } }
    func startLogin(_ request: AuthRequest, returnTo: String?) -> LocalResponse { LocalResponse(status: .found, headers: ["Location": "/idp"], body: "") }
    func handle(_ endpoint: AuthEndpoint, _ request: AuthRequest) async -> LocalResponse { counted { .plain(.found, "") } }
    func backchannelLogout(form body: String, request: AuthRequest) async -> LocalResponse { counted { .plain(.ok, "") } }

    /// Async work the harness waits for before it checks anything.
    private func counted<T>(_ body: () -> T) -> T {
        inFlight.withLockedValue { $0 += 1 }
        defer { inFlight.withLockedValue { $0 -= 1 } }
        return body()
    }
}

/// `Cookie` pairs, however many headers carry them.
struct CookieHeaderValues {
    let pairs: Set<String>

    init(_ headers: HTTPHeaders) {
        pairs = Set(headers["cookie"].flatMap { $0.split(separator: ";") }.map { String($0.trimmingPrefix(" ")) })
    }

    func contains(_ pair: String) -> Bool { pairs.contains(pair) }
}

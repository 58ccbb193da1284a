import NIOConcurrencyHelpers
import NIOHTTP1
import PorteiroConfig
import PorteiroProxy
import Testing

/// Signs in whoever sends `Cookie: s=<name>`, counting how often it was asked.
final class CountingAuthenticator: GatewayAuthenticator {
    let calls = NIOLockedValueBox(0)
    let generation = NIOLockedValueBox<UInt64>(0)
    let reusableFor: Int64

    init(reusableFor: Int64) {
        self.reusableFor = reusableFor
    }

    var isReady: Bool { true }
    var revocationGeneration: UInt64 { generation.withLockedValue { $0 } }

    func authenticate(_ request: AuthRequest) -> Authentication {
        calls.withLockedValue { $0 += 1 }
        guard let cookie = request.headers.first(name: "cookie"), cookie.hasPrefix("s=") else { return .anonymous(clearCookies: []) }
        var user = SignedInUser(
            user: String(cookie.dropFirst(2)), email: "", groups: [], accessToken: "t-" + cookie.dropFirst(2),
            reusableUntil: reusableFor == 0 ? 0 : request.now + reusableFor)
        user.revocationGeneration = revocationGeneration
        return .signedIn(user)
    }

    func cachedBearer(_ token: String, audiences: Set<String>, providers: [Int], now: Int64) -> SignedInUser? { nil }
    func verifyBearer(_ token: String, audiences: Set<String>, providers: [Int], now: Int64) async -> SignedInUser? { nil }
    func identity(of pending: PendingSession) -> SignedInUser? { nil }
    func resolve(_ pending: PendingSession, request: AuthRequest) async -> Authentication { .anonymous(clearCookies: []) }
    func startLogin(_ request: AuthRequest, returnTo: String?) -> LocalResponse { .plain(.unauthorized, "") }
    func handle(_ endpoint: AuthEndpoint, _ request: AuthRequest) async -> LocalResponse { .plain(.notFound, "") }
    func backchannelLogout(form body: String, request: AuthRequest) async -> LocalResponse { .plain(.ok, "") }
}

/// A connection reuses the last session it opened while the same cookies come back.
@Suite struct SessionMemoTests {
    func exchange(_ gateway: GatewayHarness, cookie: String, upstream: Int = 0) throws -> String {
        try gateway.clientSends("GET /x HTTP/1.1\r\nHost: p\r\nCookie: \(cookie)\r\n\r\n", byteByByte: false)
        let sent = try gateway.upstreamReceived(upstream)
        try gateway.upstreamSends(upstream, "HTTP/1.1 204 No Content\r\n\r\n")
        _ = try gateway.clientReceived()
        return sent
    }

    @Test func theSameCookiesAreOpenedOnceAndOtherCookiesAgain() throws {
        let authenticator = CountingAuthenticator(reusableFor: 300)
        let gateway = try GatewayHarness(routes: [RouteConfig(path: "/", upstream: "http://app:8080")], authenticator: authenticator)
        #expect(try exchange(gateway, cookie: "s=maria").contains("Authorization: Bearer t-maria"))
        #expect(try exchange(gateway, cookie: "s=maria").contains("Authorization: Bearer t-maria"))
        #expect(authenticator.calls.withLockedValue { $0 } == 1, "the second request reused the first answer")
        #expect(try exchange(gateway, cookie: "s=joao").contains("Authorization: Bearer t-joao"), "new cookies, new answer")
        #expect(authenticator.calls.withLockedValue { $0 } == 2)
    }

    /// A back-channel logout anywhere changes the generation: every remembered session is
    /// checked again before its next request goes through.
    @Test func aRevocationMakesEveryConnectionCheckItsSessionAgain() throws {
        let authenticator = CountingAuthenticator(reusableFor: 300)
        let gateway = try GatewayHarness(routes: [RouteConfig(path: "/", upstream: "http://app:8080")], authenticator: authenticator)
        _ = try exchange(gateway, cookie: "s=maria")
        authenticator.generation.withLockedValue { $0 += 1 }
        _ = try exchange(gateway, cookie: "s=maria")
        _ = try exchange(gateway, cookie: "s=maria")
        #expect(authenticator.calls.withLockedValue { $0 } == 2, "asked again once, then remembered under the new generation")
    }

    @Test func anAnswerThatMayNotBeReusedIsAskedAgain() throws {
        let authenticator = CountingAuthenticator(reusableFor: 0)
        let gateway = try GatewayHarness(routes: [RouteConfig(path: "/", upstream: "http://app:8080")], authenticator: authenticator)
        _ = try exchange(gateway, cookie: "s=maria")
        _ = try exchange(gateway, cookie: "s=maria")
        #expect(authenticator.calls.withLockedValue { $0 } == 2)
    }
}

/// The back-channel logout endpoint's framing, on the data path: only POST, and a bounded body.
@Suite struct BackchannelLogoutFramingTests {
    func gateway() throws -> GatewayHarness {
        try GatewayHarness(routes: [RouteConfig(path: "/", upstream: "http://app:8080")], authenticator: CountingAuthenticator(reusableFor: 0))
    }

    @Test func onlyPOSTIsAccepted() throws {
        let gateway = try gateway()
        try gateway.clientSends("GET /oauth2/backchannel_logout HTTP/1.1\r\nHost: p\r\n\r\n")
        let response = try gateway.clientReceived()
        #expect(response.hasPrefix("HTTP/1.1 405 Method Not Allowed\r\n") && response.contains("Allow: POST\r\n"))
    }

    @Test func aBodyPastTheLimitIs413AndTheConnectionClosed() throws {
        let gateway = try gateway()
        let body = "logout_token=" + String(repeating: "x", count: 70_000)
        try gateway.clientSends(
            "POST /oauth2/backchannel_logout HTTP/1.1\r\nHost: p\r\nContent-Type: application/x-www-form-urlencoded\r\n"
                + "Content-Length: \(body.utf8.count)\r\n\r\n" + body, byteByByte: false)
        let response = try gateway.clientReceived()
        #expect(response.hasPrefix("HTTP/1.1 413 Payload Too Large\r\n") && response.contains("Cache-Control: no-store"))
        #expect(!gateway.client.isActive)
        #expect(gateway.connector.channels.isEmpty, "nothing reached an upstream")
    }
}

import NIOConcurrencyHelpers
import PorteiroConfig
import PorteiroOIDC
@testable import PorteiroAuth
import PorteiroProxy
import Testing

/// `token_exchange` tokens: remembered until due, one call for concurrent requests, refusals
/// remembered briefly, never anything but an unexpired, printable access token.
@Suite struct TokenExchangesTests {
    static let now: Int64 = 1_800_000_000
    let billing = RouteConfig.TokenExchange(audience: "billing")
    var maria: SignedInUser {
        var user = SignedInUser(user: "maria", email: "", groups: [], accessToken: "session-token")
        user.sessionID = "s1"
        return user
    }

    @Test func aTokenIsRememberedUntilItsMarginAndConcurrentRequestsShareOneCall() async {
        let exchanges = TokenExchanges(margin: 60)
        let calls = NIOLockedValueBox(0)
        let call: @Sendable () async -> Result<TokenExchanges.Issued, TokenExchangeRefused> = {
            calls.withLockedValue { $0 += 1 }
            try? await Task.sleep(for: .milliseconds(50))
            return .success(("billing-token", Self.now + 300))
        }
        #expect(exchanges.cached(for: maria, billing, now: Self.now) == nil)
        let (user, billing) = (maria, billing)
        let results = await withTaskGroup(of: Result<String, TokenExchangeRefused>.self) { group in
            for _ in 0..<8 { group.addTask { await exchanges.exchange(for: user, billing, now: Self.now, call: call) } }
            return await group.reduce(into: []) { $0.append($1) }
        }
        #expect(results.allSatisfy { $0 == .success("billing-token") } && calls.withLockedValue { $0 } == 1)
        #expect(exchanges.cached(for: maria, billing, now: Self.now + 239) == "billing-token")
        #expect(exchanges.cached(for: maria, billing, now: Self.now + 240) == nil, "due a margin before expiry")
        var other = maria
        other.sessionID = "s2"
        #expect(exchanges.cached(for: other, billing, now: Self.now) == nil, "per session")
        #expect(exchanges.cached(for: maria, RouteConfig.TokenExchange(audience: "billing", scope: "read"), now: Self.now) == nil, "per exchange")
    }

    @Test func aShortTokenIsDueAtHalfItsLifetimeAndAnUnknownOneAfterAMinute() {
        #expect(TokenExchanges.remembered(.success(("t", Self.now + 10)), now: Self.now, margin: 60).until == Self.now + 5)
        #expect(TokenExchanges.remembered(.success(("t", 0)), now: Self.now, margin: 60).until == Self.now + 60)
        #expect(TokenExchanges.remembered(.failure(TokenExchangeRefused(reason: "x")), now: Self.now, margin: 60).until == Self.now + 5)
    }

    @Test func aRefusalIsRememberedBrieflyAndNeverBecomesTheSessionsToken() async {
        let exchanges = TokenExchanges(margin: 60)
        let calls = NIOLockedValueBox(0)
        let refuse: @Sendable () async -> Result<TokenExchanges.Issued, TokenExchangeRefused> = {
            calls.withLockedValue { $0 += 1 }
            return .failure(TokenExchangeRefused(reason: "invalid_target"))
        }
        #expect(await exchanges.exchange(for: maria, billing, now: Self.now, call: refuse) == .failure(TokenExchangeRefused(reason: "invalid_target")))
        #expect(await exchanges.exchange(for: maria, billing, now: Self.now + 4, call: refuse) == .failure(TokenExchangeRefused(reason: "invalid_target")))
        #expect(calls.withLockedValue { $0 } == 1 && exchanges.cached(for: maria, billing, now: Self.now) == nil)
        _ = await exchanges.exchange(for: maria, billing, now: Self.now + 5, call: refuse)
        #expect(calls.withLockedValue { $0 } == 2, "asked again after a few seconds")
    }

    @Test(arguments: [
        (TokenResponse(accessToken: "ok.token", expiresIn: 300), true),
        (TokenResponse(accessToken: "ok.token"), true),
        (TokenResponse(accessToken: "", expiresIn: 300), false),
        (TokenResponse(accessToken: "a\r\nX-Evil: 1", expiresIn: 300), false),
        (TokenResponse(accessToken: "a token", expiresIn: 300), false),
        (TokenResponse(accessToken: "ok.token", expiresIn: 0), false),
        (TokenResponse(accessToken: "ok.token", expiresIn: -5), false),
    ])
    func onlyAnUnexpiredPrintableAccessTokenIsUsed(tokens: TokenResponse, usable: Bool) {
        let result = CookieAuthenticator.issued(tokens, for: "session-token", now: Self.now)
        if case .success = result { #expect(usable) } else { #expect(!usable) }
        var refreshToken = TokenResponse(accessToken: "ok.token", expiresIn: 300)
        refreshToken.issuedTokenType = "urn:ietf:params:oauth:token-type:refresh_token"
        guard case .failure = CookieAuthenticator.issued(refreshToken, for: "session-token", now: Self.now) else {
            Issue.record("a refresh token is not what the app gets")
            return
        }
        guard case .failure = CookieAuthenticator.issued(TokenResponse(accessToken: "session-token", expiresIn: 300), for: "session-token", now: Self.now),
              case .failure = CookieAuthenticator.issued(TokenResponse(accessToken: String(repeating: "a", count: 16 * 1024 + 1)), for: "s", now: Self.now)
        else {
            Issue.record("the session's own token handed back, or one over 16 KiB, is a refusal (red team 6 L1, L4)")
            return
        }
    }
}

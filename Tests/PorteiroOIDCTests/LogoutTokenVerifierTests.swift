import JWTKit
import PorteiroOIDC
import Testing

/// Back-channel logout tokens (OpenID Connect Back-Channel Logout 1.0 §2.4, §2.6): each broken
/// rule is refused with its own reason, and an ID token can never pass as a logout token.
@Suite struct LogoutTokenVerifierTests {
    static let event: ClaimValue = .object([LogoutTokenVerifier.event: .object([:])])

    func logoutClaims(_ lab: TokenLab, _ changes: [String: ClaimValue?] = [:]) -> IDTokenClaims {
        var claims: [String: ClaimValue] = [
            "iss": .string(lab.issuer), "sub": .string("maria-id"), "aud": .string("portal"), "iat": .number(lab.now - 5),
            "exp": .number(lab.now + 120), "jti": .string("j-1"), "sid": .string("sid-1"), "events": Self.event,
        ]
        for (key, value) in changes { claims[key] = value }
        return IDTokenClaims(claims)
    }

    func reason(_ lab: TokenLab, _ token: String) async -> String? {
        do {
            _ = try await LogoutTokenVerifier(tokens: lab.verifier).verify(token, keys: lab.keys, now: lab.now)
            return nil
        } catch {
            return error.reason
        }
    }

    @Test func acceptsAValidTokenWithSidOrSubAlone() async throws {
        let lab = await TokenLab()
        let verifier = LogoutTokenVerifier(tokens: lab.verifier)
        let both = try await verifier.verify(try await lab.sign(logoutClaims(lab)), keys: lab.keys, now: lab.now)
        #expect(both.tokenID == "j-1" && both.subject == "maria-id" && both.sid == "sid-1" && both.issuedAt == Int64(lab.now - 5))
        let subOnly = try await verifier.verify(try await lab.sign(logoutClaims(lab, ["sid": nil])), keys: lab.keys, now: lab.now)
        #expect(subOnly.sid == nil && subOnly.subject == "maria-id")
        let sidOnly = try await verifier.verify(try await lab.sign(logoutClaims(lab, ["sub": nil])), keys: lab.keys, now: lab.now)
        #expect(sidOnly.sid == "sid-1" && sidOnly.subject == nil)
    }

    @Test(arguments: [
        (["iss": .string("https://evil.example.org")], "wrongIssuer"),
        (["aud": .string("another-client")], "wrongAudience"),
        (["iat": nil], "missingIssuedAt"),
        (["iat": .number(1_800_000_000 + 600)], "issuedInTheFuture"),
        (["iat": .number(1_800_000_000 - 3_600)], "tooOld"),
        (["exp": .number(1_800_000_000 - 120)], "expired"),
        (["jti": nil], "missingTokenID"),
        (["events": nil], "notALogoutToken"),
        (["events": .object(["http://schemas.openid.net/event/backchannel-logout": .string("yes")])], "notALogoutToken"),
        (["events": .object(["http://example.org/other-event": .object([:])])], "notALogoutToken"),
        (["nonce": .string("n-123")], "nonceNotAllowed"),
        (["sub": nil, "sid": nil], "missingSubjectAndSession"),
        (["sid": .array([.string("s-1")])], "invalidSessionID"), (["sid": .string("")], "invalidSessionID"),
        (["sub": .object([:])], "invalidSubject"),
    ] as [([String: ClaimValue?], String)])
    func refusesEachBrokenRule(changes: [String: ClaimValue?], expected: String) async throws {
        let lab = await TokenLab()
        #expect(await reason(lab, try await lab.sign(logoutClaims(lab, changes))) == expected)
    }

    @Test func refusesBadSignaturesUnknownKeysAndIDTokens() async throws {
        let lab = await TokenLab()
        let other = await TokenLab()
        #expect(await reason(lab, try await other.sign(logoutClaims(lab))) == "badSignature")
        #expect(await reason(lab, try await lab.sign(logoutClaims(lab), kid: "k9")) == "unknownKey")
        #expect(await reason(lab, try await lab.sign(lab.claims())) != nil, "an ID token is no logout token")
        #expect(await reason(lab, "not.a.jwt") == "malformed")
    }

    @Test func jtiIsRememberedForAsLongAsTheTokenIsAccepted() async {
        let lab = await TokenLab()
        let verifier = LogoutTokenVerifier(tokens: lab.verifier)
        let issuedAt: Int64 = 1_800_000_000
        #expect(verifier.tokenIDRetention(issuedAt: issuedAt) == issuedAt + Int64(LogoutTokenVerifier.maxAge) + 60)
    }
}

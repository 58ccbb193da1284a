import Foundation
import PorteiroOIDC
import Testing

/// When to refresh: `expires_in` first, the access token's own `exp` when the IdP leaves it out.
@Suite struct TokenResponseTests {
    static func part(_ json: String) -> String {
        Data(json.utf8).base64EncodedString().replacingOccurrences(of: "=", with: "")
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
    }

    static func jwt(exp: Int) -> String {
        part(#"{"alg":"RS256","typ":"JWT"}"#) + "." + part(#"{"sub":"maria","exp":\#(exp)}"#) + ".c2ln"
    }

    @Test func theEarlierOfExpiresInAndTheTokensOwnExpWins() {
        #expect(TokenResponse(accessToken: Self.jwt(exp: 5_000), expiresIn: 300).accessTokenExpiresAt(now: 1_000) == 1_300)
        #expect(TokenResponse(accessToken: Self.jwt(exp: 1_004), expiresIn: 3_600).accessTokenExpiresAt(now: 1_000) == 1_004,
                "an IdP whose expires_in outlives the JWT's exp")
        #expect(TokenResponse(accessToken: "opaque", expiresIn: 300).accessTokenExpiresAt(now: 1_000) == 1_300)
    }

    @Test func aJWTAccessTokensExpIsTheFallback() {
        #expect(TokenResponse(accessToken: Self.jwt(exp: 5_000)).accessTokenExpiresAt(now: 1_000) == 5_000)
    }

    @Test func anOpaqueTokenWithoutExpiresInIsUnknown() {
        #expect(TokenResponse(accessToken: "opaque-token").accessTokenExpiresAt(now: 1_000) == 0)
    }
}

/// Numbers from the IdP are bounded before they become Unix seconds: `Int64(1e30)` traps.
@Suite struct TokenResponseBoundsTests {
    @Test(arguments: [1e30, .infinity, 9.3e18, Double(Int64.max)])
    func anExpiresInTooLargeToAddUpCountsAsAbsent(expiresIn: Double) {
        #expect(TokenResponse(accessToken: "opaque", expiresIn: expiresIn).accessTokenExpiresAt(now: 1_000) == 0)
        let jwt = TokenResponseTests.jwt(exp: 5_000)
        #expect(TokenResponse(accessToken: jwt, expiresIn: expiresIn).accessTokenExpiresAt(now: 1_000) == 5_000)
    }

    /// Fail closed: the red team's `expires_in: -3600` once left the token's lifetime unknown, and
    /// it was forwarded.
    @Test(arguments: [-5, -3_600, -Double.infinity, Double.nan, 0] as [Double])
    func aNegativeExpiresInMeansExpired(expiresIn: Double) {
        #expect(TokenResponse(accessToken: "opaque", expiresIn: expiresIn).accessTokenExpiresAt(now: 1_000) == 1_000)
        let jwt = TokenResponseTests.jwt(exp: 5_000)
        #expect(TokenResponse(accessToken: jwt, expiresIn: expiresIn).accessTokenExpiresAt(now: 1_000) == 1_000)
    }

    /// `exp: 0` once read as 0, "unknown", and `exp: -1` as absent: both tokens were forwarded.
    @Test(arguments: ["0", "-1", "1e30", "9223372036854775808", "\"2000\"", "null"])
    func aJWTExpThatIsNoSaneTimeMeansExpired(exp: String) {
        let token = TokenResponseTests.part(#"{"alg":"RS256"}"#) + "." + TokenResponseTests.part(#"{"sub":"m","exp":\#(exp)}"#) + ".c2ln"
        let expiry = TokenResponse(accessToken: token).accessTokenExpiresAt(now: 1_000)
        #expect(expiry != 0 && expiry <= 1_000, "expired, not unknown: \(expiry)")
    }

    @Test func aQuotedExpiresInIsRead() throws {
        let json = #"{"access_token":"a","token_type":"Bearer","expires_in":"300"}"#
        let decoded = try JSONDecoder().decode(TokenResponse.self, from: Data(json.utf8))
        #expect(decoded.accessTokenExpiresAt(now: 1_000) == 1_300)
        let huge = #"{"access_token":"a","expires_in":1e30}"#
        #expect(try JSONDecoder().decode(TokenResponse.self, from: Data(huge.utf8)).accessTokenExpiresAt(now: 1_000) == 0)
    }
}

@Suite struct ClaimValueBoundsTests {
    @Test(arguments: [1e19, 9.3e18, -9.3e18, 1e300, Double(1 << 53) * 4])
    func aNumberTooLargeForAnExactIntegerHasNoStringForm(value: Double) {
        #expect(ClaimValue.number(value).string == nil)
        #expect(ClaimValue.number(value).strings == [])
    }

    @Test func wholeNumbersReadAsStrings() {
        #expect(ClaimValue.number(1234).string == "1234")
        #expect(ClaimValue.number(-7).string == "-7")
        #expect(ClaimValue.number(1.5).string == nil)
        #expect(ClaimValue.number(1e30).unixSeconds == nil)
        #expect(ClaimValue.number(1_800_000_000.7).unixSeconds == 1_800_000_000)
    }
}

import Foundation
import PorteiroOIDC
import Testing

/// When to refresh: `expires_in` first, the access token's own `exp` when the IdP leaves it out.
@Suite struct TokenResponseTests {
    static func jwt(exp: Int) -> String {
        func part(_ json: String) -> String {
            Data(json.utf8).base64EncodedString().replacingOccurrences(of: "=", with: "")
                .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
        }
        return part(#"{"alg":"RS256","typ":"JWT"}"#) + "." + part(#"{"sub":"maria","exp":\#(exp)}"#) + ".c2ln"
    }

    @Test func expiresInWins() {
        #expect(TokenResponse(accessToken: Self.jwt(exp: 5_000), expiresIn: 300).accessTokenExpiresAt(now: 1_000) == 1_300)
    }

    @Test func aJWTAccessTokensExpIsTheFallback() {
        #expect(TokenResponse(accessToken: Self.jwt(exp: 5_000)).accessTokenExpiresAt(now: 1_000) == 5_000)
    }

    @Test func anOpaqueTokenWithoutExpiresInIsUnknown() {
        #expect(TokenResponse(accessToken: "opaque-token").accessTokenExpiresAt(now: 1_000) == 0)
    }
}

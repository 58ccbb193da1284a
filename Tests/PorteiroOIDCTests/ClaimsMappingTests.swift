import Foundation
import PorteiroConfig
import PorteiroOIDC
import PorteiroRouting
import Testing

@Suite struct ClaimsMappingTests {
    let keycloak = try! JSONDecoder().decode(ClaimValue.self, from: Data(#"""
        {"sub":"f:1:maria","preferred_username":"maria","email":"maria@example.org","sid":"s-1",
         "groups":["/servidores","rh"],"realm_access":{"roles":["portal-user","offline_access"]},
         "resource_access":{"portal":{"roles":["portal-admin"]}},"age":42}
        """#.utf8))

    /// Red team 6: `abs(Int64.min)` traps, and a claim of -9223372036854775808 reached it from
    /// every path that reads claims (login, bearer tokens, logout tokens). Every edge number is
    /// a value or nothing, never a trap.
    @Test(arguments: [
        "-9223372036854775808", "9223372036854775807", "-9007199254740993", "9007199254740992", "-0", "1e308", "-1e308", "4.5",
    ])
    func edgeNumbersAreNeverATrap(number: String) throws {
        let claims = try JSONDecoder().decode(ClaimValue.self, from: Data(#"{"sub":\#(number),"groups":["a",\#(number)],"n":\#(number)}"#.utf8))
        let identity = ProviderConfig.Claims().identity(from: claims)
        _ = (identity.subject, identity.groups, claims.value(at: "n")?.strings, claims.value(at: "n")?.unixSeconds)
        let exact = claims.value(at: "n")?.integer
        #expect(exact.map { $0.magnitude <= 1 << 53 } ?? true)
    }

    @Test func readsTheDefaultKeycloakLayout() {
        let identity = ProviderConfig.Claims().identity(from: keycloak)
        #expect(identity == Identity(
            subject: "f:1:maria", user: "maria", email: "maria@example.org", groups: ["/servidores", "rh"],
            roles: ["portal-user", "offline_access"], sid: "s-1"))
    }

    @Test func followsConfiguredDottedPathsAndFallsBackToSub() {
        var claims = ProviderConfig.Claims()
        claims.user = "nickname"
        claims.roles = "resource_access.portal.roles"
        claims.groups = "age"
        let identity = claims.identity(from: keycloak)
        #expect(identity.user == "f:1:maria")
        #expect(identity.roles == ["portal-admin"])
        #expect(identity.groups == ["42"], "a single value counts as a list of one")
    }

    @Test func idTokenClaimsWinOverUserinfo() {
        let userinfo = ClaimValue.object(["email": .string("other@example.org"), "phone": .string("123")])
        let merged = keycloak.merging(userinfo)
        #expect(merged.value(at: "email")?.string == "maria@example.org")
        #expect(merged.value(at: "phone")?.string == "123")
    }

    @Test func buildsTheAuthorizationURL() {
        var provider = ProviderConfig(issuer: "https://iam", clientID: "portal app")
        provider.extraAuthParameters = ["kc_idp_hint": "gov br", "state": "ignored"]
        let request = AuthorizationRequest(state: "s", nonce: "n", pkce: PKCE(verifier: "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"))
        let url = request.url(endpoint: "https://iam/auth?realm=x", provider: provider, redirectURI: "https://p/oauth2/callback")
        #expect(url == "https://iam/auth?realm=x&response_type=code&client_id=portal%20app&redirect_uri=https%3A%2F%2Fp%2Foauth2%2Fcallback"
            + "&scope=openid%20profile%20email&state=s&nonce=n&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
            + "&code_challenge_method=S256&kc_idp_hint=gov%20br")
        #expect(FormEncoding.decode("a=1&b=x%20y+z&a=2&bad=%zz&c") == ["a": "1", "b": "x y z", "bad": "%zz", "c": ""])
    }
}

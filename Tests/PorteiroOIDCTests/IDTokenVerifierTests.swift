import Foundation
import JWTKit
import PorteiroOIDC
import Testing

/// Keys made in the test, a verifier for them, and a token factory with every claim right.
struct TokenLab {
    let collection = JWTKeyCollection()
    let issuer = "https://iam.example.org/realms/gov"
    let now: Double = 1_800_000_000
    let signingKey = ES256PrivateKey()

    init() async {
        await collection.add(ecdsa: signingKey.publicKey, kid: "k1")
    }

    var keys: ProviderKeys { ProviderKeys(collection: collection, keyIDs: ["k1"]) }

    var verifier: IDTokenVerifier { IDTokenVerifier(issuer: issuer, clientID: "portal") }

    func claims(_ changes: [String: ClaimValue?] = [:]) -> IDTokenClaims {
        var claims: [String: ClaimValue] = [
            "iss": .string(issuer), "sub": .string("maria-id"), "aud": .string("portal"),
            "exp": .number(now + 300), "iat": .number(now - 5), "nonce": .string("n-123"),
            "preferred_username": .string("maria"), "groups": .array([.string("servidores")]),
        ]
        for (key, value) in changes { claims[key] = value }
        return IDTokenClaims(claims)
    }

    func sign(_ claims: IDTokenClaims, kid: String = "k1") async throws -> String {
        let signer = JWTKeyCollection()
        await signer.add(ecdsa: signingKey, kid: JWKIdentifier(string: kid))
        return try await signer.sign(claims, kid: JWKIdentifier(string: kid))
    }

    func reason(_ token: String, nonce: String = "n-123") async -> IDTokenVerifier.Failure.Reason? {
        do {
            _ = try await verifier.verify(token, keys: keys, nonce: nonce, now: now)
            return nil
        } catch {
            return error.reason
        }
    }
}

private func base64url(_ text: String) -> String {
    Data(text.utf8).base64EncodedString().replacingOccurrences(of: "+", with: "-")
        .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
}

@Suite struct IDTokenVerifierTests {
    @Test func acceptsAValidToken() async throws {
        let lab = await TokenLab()
        let token = try await lab.sign(lab.claims())
        let claims = try await lab.verifier.verify(token, keys: lab.keys, nonce: "n-123", now: lab.now)
        #expect(claims["preferred_username"]?.string == "maria")
    }

    @Test(arguments: [
        (["iss": .string("https://iam.example.org/realms/other")], IDTokenVerifier.Failure.Reason.wrongIssuer),
        (["iss": .string("https://iam.example.org/realms/gov/")], .wrongIssuer),
        (["sub": nil], .missingSubject),
        (["aud": .string("another-client")], .wrongAudience),
        (["aud": .array([.string("portal"), .string("account")])], .wrongAuthorizedParty),
        (["aud": .array([.string("portal"), .string("account")]), "azp": .string("account")], .wrongAuthorizedParty),
        (["exp": .number(1_800_000_000 - 61)], .expired),
        (["exp": nil], .expired),
        (["iat": .number(1_800_000_000 + 61)], .issuedInTheFuture),
        (["nbf": .number(1_800_000_000 + 61)], .notYetValid),
        (["nonce": .string("n-999")], .nonceMismatch),
        (["nonce": nil], .nonceMismatch),
        (["exp": .number(1e30)], .malformed), (["exp": .number(9.3e18)], .malformed), (["exp": .number(-1)], .malformed),
    ] as [([String: ClaimValue?], IDTokenVerifier.Failure.Reason)])
    func refusesEachBrokenRule(changes: [String: ClaimValue?], reason: IDTokenVerifier.Failure.Reason) async throws {
        let lab = await TokenLab()
        #expect(await lab.reason(try await lab.sign(lab.claims(changes))) == reason)
    }

    @Test func checksAccessTokensForAudienceButNotNonce() async throws {
        let lab = await TokenLab()
        let api = IDTokenVerifier.Purpose.accessToken(audiences: ["legacy-api", "other"])
        let token = try await lab.sign(lab.claims(["aud": .array([.string("account"), .string("legacy-api")]), "nonce": nil]))
        #expect(try await lab.verifier.verify(token, keys: lab.keys, purpose: api, now: lab.now)["sub"]?.string == "maria-id")
        let wrongAudience = try await lab.sign(lab.claims(["aud": .string("portal")]))
        await #expect(throws: IDTokenVerifier.Failure(reason: .wrongAudience)) {
            try await lab.verifier.verify(wrongAudience, keys: lab.keys, purpose: api, now: lab.now)
        }
        let expired = try await lab.sign(lab.claims(["aud": .string("legacy-api"), "exp": .number(lab.now - 120), "nonce": nil]))
        await #expect(throws: IDTokenVerifier.Failure(reason: .expired)) {
            try await lab.verifier.verify(expired, keys: lab.keys, purpose: api, now: lab.now)
        }
    }

    /// An ID token whose audience a bearer route accepts (its `audiences` include the gateway's
    /// client id) is still no access token: it proves a login at a client, it grants no API call.
    @Test(arguments: [
        ["nonce": ClaimValue.string("n-1")], ["typ": .string("ID")], ["typ": .string("Refresh")], ["at_hash": .string("x")],
        ["c_hash": .string("x")], ["events": .object([:])], ["typ": .string("Logout")], ["typ": .array([.string("Bearer")])],
    ] as [[String: ClaimValue?]])
    func refusesIDAndLogoutTokensAsAccessTokens(marks: [String: ClaimValue?]) async throws {
        let lab = await TokenLab()
        let api = IDTokenVerifier.Purpose.accessToken(audiences: ["portal"])
        var changes: [String: ClaimValue?] = ["nonce": nil]
        for (claim, value) in marks { changes[claim] = value }
        let token = try await lab.sign(lab.claims(changes))
        await #expect(throws: IDTokenVerifier.Failure(reason: .notAnAccessToken)) {
            try await lab.verifier.verify(token, keys: lab.keys, purpose: api, now: lab.now)
        }
    }

    @Test func acceptsKeycloakAndRFC9068AccessTokens() async throws {
        let lab = await TokenLab()
        let api = IDTokenVerifier.Purpose.accessToken(audiences: ["portal"])
        let keycloak = try await lab.sign(lab.claims(["nonce": nil, "typ": .string("Bearer")]))
        #expect(try await lab.verifier.verify(keycloak, keys: lab.keys, purpose: api, now: lab.now)["sub"]?.string == "maria-id")
        var header = JWTHeader()
        header.typ = "at+jwt"
        header.kid = "k1"
        let signer = JWTKeyCollection()
        await signer.add(ecdsa: lab.signingKey, kid: JWKIdentifier(string: "k1"))
        let rfc9068 = try await signer.sign(lab.claims(["nonce": nil]), header: header)
        #expect(try await lab.verifier.verify(rfc9068, keys: lab.keys, purpose: api, now: lab.now)["sub"]?.string == "maria-id")
        header.typ = "logout+jwt"
        let logout = try await signer.sign(lab.claims(["nonce": nil]), header: header)
        await #expect(throws: IDTokenVerifier.Failure(reason: .notAnAccessToken)) {
            try await lab.verifier.verify(logout, keys: lab.keys, purpose: api, now: lab.now)
        }
    }

    @Test func allowsClockSkewAndAMatchingAuthorizedParty() async throws {
        let lab = await TokenLab()
        let token = try await lab.sign(lab.claims([
            "exp": .number(lab.now - 30), "nbf": .number(lab.now + 30),
            "aud": .array([.string("portal"), .string("account")]), "azp": .string("portal"),
        ]))
        #expect(await lab.reason(token) == nil)
    }

    @Test func refusesAlgNoneAndHMAC() async throws {
        let lab = await TokenLab()
        let payload = base64url(#"{"iss":"\#(lab.issuer)","sub":"x","aud":"portal","exp":1800000300,"iat":1800000000,"nonce":"n-123"}"#)
        #expect(await lab.reason(base64url(#"{"alg":"none","typ":"JWT"}"#) + "." + payload + ".") == .algorithmNotAllowed)

        // Algorithm confusion: an HS256 token whose secret is the provider's public key.
        let publicKeyPEM = lab.signingKey.publicKey.pemRepresentation
        let hmac = JWTKeyCollection()
        await hmac.add(hmac: HMACKey(from: publicKeyPEM), digestAlgorithm: .sha256, kid: "k1")
        let confused = try await hmac.sign(lab.claims(), kid: "k1")
        await lab.collection.add(hmac: HMACKey(from: publicKeyPEM), digestAlgorithm: .sha256, kid: "k1-hmac")
        #expect(await lab.reason(confused) == .algorithmNotAllowed)
    }

    @Test func acceptsHMACOnlyWhenConfiguredAndOnlyWithTheClientSecret() async throws {
        let lab = await TokenLab()
        let hmac = JWTKeyCollection()
        let secret = String(repeating: "s3cret-", count: 6)
        await hmac.add(hmac: HMACKey(from: Array(secret.utf8)), digestAlgorithm: .sha256)
        let token = try await hmac.sign(lab.claims())
        let configured = IDTokenVerifier(issuer: lab.issuer, clientID: "portal", hmacSecret: secret)
        #expect(try await configured.verify(token, keys: lab.keys, nonce: "n-123", now: lab.now)["sub"]?.string == "maria-id")
        let wrongSecret = IDTokenVerifier(issuer: lab.issuer, clientID: "portal", hmacSecret: secret + "x")
        await #expect(throws: IDTokenVerifier.Failure(reason: .badSignature)) {
            try await wrongSecret.verify(token, keys: lab.keys, nonce: "n-123", now: lab.now)
        }
        #expect(await lab.reason(token) == .algorithmNotAllowed, "not configured: refused")
        let hs512 = JWTKeyCollection()
        await hs512.add(hmac: HMACKey(from: Array(String(repeating: "k", count: 64).utf8)), digestAlgorithm: .sha512)
        let long = try await hs512.sign(lab.claims())
        await #expect(throws: IDTokenVerifier.Failure(reason: .algorithmNotAllowed), "HS512 needs a 64-byte secret") {
            try await configured.verify(long, keys: lab.keys, nonce: "n-123", now: lab.now)
        }
    }

    @Test func reportsUnknownKeysAndBadSignatures() async throws {
        let lab = await TokenLab()
        #expect(await lab.reason(try await lab.sign(lab.claims(), kid: "rotated")) == .unknownKey)
        let other = await TokenLab()
        #expect(await lab.reason(try await other.sign(other.claims())) == .badSignature)
        #expect(await lab.reason("not.a.jwt") == .malformed)
        #expect(await lab.reason("") == .malformed)
    }

    @Test func readsKeysFromAJWKSDocument() async throws {
        let jwks = #"{"keys":[{"kty":"EC","crv":"P-256","kid":"ec1","use":"sig","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"},{"kty":"oct","kid":"enc","use":"enc","k":"AAAA"}]}"#
        let keys = try await ProviderKeys.parse(jwksJSON: jwks)
        #expect(keys.keyIDs == ["ec1"])
        await #expect(throws: (any Error).self) { try await ProviderKeys.parse(jwksJSON: #"{"keys":[]}"#) }
        await #expect(throws: (any Error).self) { try await ProviderKeys.parse(jwksJSON: "garbage") }
    }

    /// Found by the jwt fuzz target: an RSA private key with a forged (even) modulus made
    /// swift-crypto trap while deriving its primes — a JWKS could crash the gateway. Private keys
    /// are never loaded from a JWKS now (fuzz/corpus/jwt/jwks-rsa-private-key-even-modulus).
    @Test func skipsPrivateKeysInAJWKSDocument() async throws {
        let forged = #"{"keys": [{"kty": "RSA", "kid": "A0", "n": "gAQ", "e": "AQ", "d": "AQWI5a0"}]}"#
        await #expect(throws: (any Error).self, "no usable key, and no crash") { try await ProviderKeys.parse(jwksJSON: forged) }
        let mixed = #"{"keys":[{"kty":"EC","crv":"P-256","kid":"ec1","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"},{"kty":"EC","crv":"P-256","kid":"ec-private","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0","d":"jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI"}]}"#
        #expect(try await ProviderKeys.parse(jwksJSON: mixed).keyIDs == ["ec1"])
    }

    /// The third red team: a key published with `use: enc` verified signatures.
    @Test func skipsKeysPublishedForAnotherUse() async throws {
        let key = #""kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0""#
        let document = "{\"keys\":[{\(key),\"kid\":\"sig\",\"use\":\"sig\"},{\(key),\"kid\":\"plain\"},"
            + "{\(key),\"kid\":\"enc\",\"use\":\"enc\"},{\(key),\"kid\":\"ops\",\"key_ops\":[\"verify\"]},"
            + "{\(key),\"kid\":\"wrap\",\"key_ops\":[\"wrapKey\"]}]}"
        #expect(try await ProviderKeys.parse(jwksJSON: document).keyIDs == ["sig", "plain", "ops"])
    }

    @Test func comparesSecretsInConstantTime() {
        #expect(constantTimeEqual("abc", "abc"))
        #expect(!constantTimeEqual("abc", "abd"))
        #expect(!constantTimeEqual("abc", "abcd"))
    }
}

@Suite struct CriticalHeaderTests {
    /// RFC 7515 §4.1.11: a `crit` extension the verifier does not understand refuses the token.
    @Test func aCriticalHeaderIsRefusedWhateverItsShape() async throws {
        let lab = await TokenLab()
        let signer = JWTKeyCollection()
        await signer.add(ecdsa: lab.signingKey, kid: JWKIdentifier(string: "k1"))
        for crit in [JWTHeaderField.array([.string("exp")]), .string("b64")] {
            var header = JWTHeader()
            header.kid = "k1"
            header.fields["crit"] = crit
            let token = try await signer.sign(lab.claims(), header: header)
            #expect(await lab.reason(token) == .malformed)
        }
    }
}

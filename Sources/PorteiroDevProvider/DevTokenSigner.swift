import Crypto
import CryptoExtras
import ExtrasBase64
import Foundation
import JWTKit
import PorteiroOIDC

/// The provider's signing key: RSA 2048, made at start, never written anywhere. Tokens are RS256
/// JWTs signed with jwt-kit; the public half is served as the JWKS. The key id is the key's RFC 7638
/// thumbprint, so a restarted provider (a new key) never reuses the old key's id.
struct DevTokenSigner: Sendable {
    let keys: JWTKeyCollection
    let jwks: String
    let keyID: String

    static func make() async throws -> DevTokenSigner {
        let backing = try _RSA.Signing.PrivateKey(keySize: .bits2048)
        let key = try Insecure.RSA.PrivateKey(backing: backing)
        let (modulus, exponent) = try key.publicKey.getKeyPrimitives()
        let (n, e) = (base64URL(modulus), base64URL(exponent))
        let keyID = base64URL(Data(SHA256.hash(data: Array(#"{"e":"\#(e)","kty":"RSA","n":"\#(n)"}"#.utf8))))
        let keys = await JWTKeyCollection().add(rsa: key, digestAlgorithm: .sha256, kid: JWKIdentifier(string: keyID))
        let jwk: [String: String] = ["kty": "RSA", "use": "sig", "alg": "RS256", "kid": keyID, "n": n, "e": e]
        let document = try JSONSerialization.data(withJSONObject: ["keys": [jwk]], options: [.sortedKeys])
        return DevTokenSigner(keys: keys, jwks: String(decoding: document, as: UTF8.self), keyID: keyID)
    }

    func sign(_ claims: some JWTPayload) async throws -> String {
        try await keys.sign(claims, kid: JWKIdentifier(string: keyID))
    }

    /// The claims of a token this provider signed and that has not expired; nil otherwise.
    func verify(_ token: String) async -> DevClaims? {
        try? await keys.verify(token, as: DevClaims.self)
    }
}

/// The claims of the provider's ID and access tokens (one shape; absent fields are not encoded).
struct DevClaims: JWTPayload {
    var iss: String
    var sub: String
    var aud: String
    var azp: String
    var exp: Int
    var iat: Int
    var sid: String
    var name: String
    var preferredUsername: String
    var email: String
    var emailVerified = true
    var groups: [String]
    var nonce: String?
    var authTime: Int?
    var scope: String?
    var typ: String

    enum CodingKeys: String, CodingKey {
        case iss, sub, aud, azp, exp, iat, sid, name, email, groups, nonce, scope, typ
        case preferredUsername = "preferred_username"
        case emailVerified = "email_verified"
        case authTime = "auth_time"
    }

    func verify(using algorithm: some JWTAlgorithm) async throws {
        try ExpirationClaim(value: Date(timeIntervalSince1970: Double(exp))).verifyNotExpired()
    }
}

/// A back-channel logout token (OpenID Connect Back-Channel Logout 1.0 §2.4).
struct DevLogoutClaims: JWTPayload {
    var iss: String
    var sub: String
    var aud: String
    var iat: Int
    var exp: Int
    var jti: String
    var sid: String
    var events = [LogoutTokenVerifier.event: [String: String]()]

    func verify(using algorithm: some JWTAlgorithm) async throws {}
}

private func base64URL(_ data: Data) -> String {
    Base64.encodeToString(bytes: Array(data), options: [.base64UrlAlphabet, .omitPaddingCharacter])
}

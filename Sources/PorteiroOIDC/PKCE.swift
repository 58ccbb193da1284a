import Crypto
import ExtrasBase64

/// Proof Key for Code Exchange (RFC 7636), S256 only: the IAM's public-client guidance makes it
/// mandatory, and `plain` protects nothing.
public struct PKCE: Sendable, Equatable {
    /// 43 base64url characters of 32 random bytes.
    public let verifier: String
    public var challenge: String { PKCE.challenge(for: verifier) }
    public static let method = "S256"

    public init(verifier: String) {
        self.verifier = verifier
    }

    public static func random() -> PKCE {
        PKCE(verifier: randomToken(bytes: 32))
    }

    public static func challenge(for verifier: String) -> String {
        let digest = SHA256.hash(data: Array(verifier.utf8))
        return Base64.encodeToString(bytes: Array(digest), options: [.base64UrlAlphabet, .omitPaddingCharacter])
    }
}

/// `bytes` random bytes from the system's cryptographic generator, base64url: for `state`,
/// `nonce` and the PKCE verifier (RFC 6749 §10.10 asks for at least 128 bits; these carry 256).
public func randomToken(bytes: Int) -> String {
    let key = SymmetricKey(size: .init(bitCount: bytes * 8))
    return key.withUnsafeBytes {
        Base64.encodeToString(bytes: $0, options: [.base64UrlAlphabet, .omitPaddingCharacter])
    }
}

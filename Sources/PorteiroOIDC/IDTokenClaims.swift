public import JWTKit

/// Every claim of an ID token, kept as parsed JSON. jwt-kit checks the signature; the OIDC rules
/// are `IDTokenVerifier`'s, with an injected clock, so `verify(using:)` here adds nothing.
public struct IDTokenClaims: JWTPayload, Equatable {
    public let all: ClaimValue

    public init(_ claims: [String: ClaimValue]) {
        self.all = .object(claims)
    }

    public init(from decoder: any Decoder) throws {
        self.all = .object(try decoder.singleValueContainer().decode([String: ClaimValue].self))
    }

    public func encode(to encoder: any Encoder) throws {
        try all.encode(to: encoder)
    }

    public func verify(using algorithm: some JWTAlgorithm) async throws {}

    public subscript(path: String) -> ClaimValue? { all.value(at: path) }

    /// The claims of a compact JWS read without checking anything — only to pick which
    /// provider's verifier to hand it to. Nil when it does not parse.
    public static func unverified(_ token: String) -> IDTokenClaims? {
        try? DefaultJWTParser().parse(Array(token.utf8), as: IDTokenClaims.self).payload
    }

    public var issuer: String? { self["iss"]?.string }
    var subject: String? { self["sub"]?.string }
    public var audiences: [String] { self["aud"]?.strings ?? [] }
    var authorizedParty: String? { self["azp"]?.string }
    var nonce: String? { self["nonce"]?.string }
    var expiresAt: Double? { self["exp"]?.number }
    var issuedAt: Double? { self["iat"]?.number }
    var notBefore: Double? { self["nbf"]?.number }
}

public import JWTKit

/// The provider's current signing keys, with their ids. jwt-kit falls back to its default key
/// for an unknown `kid`; knowing the ids lets the verifier say "unknown key" instead, which is the
/// signal to refetch the JWKS after a rotation. A new JWKS builds a new value (old keys dropped).
public struct ProviderKeys: Sendable {
    public let collection: JWTKeyCollection
    public let keyIDs: Set<String>

    public init(collection: JWTKeyCollection, keyIDs: Set<String>) {
        self.collection = collection
        self.keyIDs = keyIDs
    }

    /// Members that only a private or symmetric key has (RFC 7517/7518). A JWKS is for verifying:
    /// a key carrying any of them is skipped, never loaded — loading an RSA private key makes
    /// swift-crypto derive its primes, which traps on a forged modulus (found by fuzzing).
    static let privateMembers: Set = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"]

    /// A key the provider published for signatures: `use` absent or `sig` (RFC 7517 §4.2), and
    /// `key_ops`, when given, listing `verify`. A key published for encryption verifies nothing.
    static func mayVerify(_ members: [String: ClaimValue]) -> Bool {
        if let use = members["use"], use != .string("sig") { return false }
        if let operations = members["key_ops"] {
            guard case .array(let listed) = operations, listed.contains(.string("verify")) else { return false }
        }
        return true
    }

    /// Keys from a JWKS document. Keys jwt-kit cannot verify with (encryption keys such as
    /// `RSA-OAEP`, symmetric keys), keys published for another use, and private keys are skipped;
    /// none left at all is an error.
    public static func parse(jwksJSON json: String) async throws -> ProviderKeys {
        // Key by key: jwt-kit refuses a whole JWKS when one key has a type it does not know.
        let document = try JSONDecoder().decode([String: [ClaimValue]].self, from: Data(json.utf8))
        let collection = JWTKeyCollection()
        var ids: Set<String> = []
        for raw in document["keys"] ?? [] {
            guard case .object(let members) = raw, privateMembers.isDisjoint(with: members.keys),
                Self.mayVerify(members), let key = try? JSONDecoder().decode(JWK.self, from: JSONEncoder().encode(raw))
            else { continue }
            if (try? await collection.add(jwk: key)) != nil, let id = key.keyIdentifier?.string {
                ids.insert(id)
            }
        }
        guard !ids.isEmpty else { throw JWTError.generic(identifier: "JWKS", reason: "no usable signing key") }
        return ProviderKeys(collection: collection, keyIDs: ids)
    }
}

import Foundation

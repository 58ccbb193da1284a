import Crypto
import NIOConcurrencyHelpers
import PorteiroOIDC
public import PorteiroProxy

/// Access tokens of API clients (`auth: bearer` routes), verified once and then remembered by
/// their SHA-256 until they expire, so a client's next call costs a hash and a lookup, no hop off
/// the event loop. Tokens themselves are never stored.
final class BearerTokenCache: Sendable {
    private struct Entry {
        let user: SignedInUser
        let expiresAt: Int64
    }

    private let entries = NIOLockedValueBox<[String: Entry]>([:])
    static let capacity = 10_000

    func user(for token: String, audiences: Set<String>, now: Int64) -> SignedInUser? {
        let key = Self.key(token, audiences)
        return entries.withLockedValue { entries in
            guard let entry = entries[key] else { return nil }
            guard entry.expiresAt > now else {
                entries[key] = nil
                return nil
            }
            return entry.user
        }
    }

    func remember(_ user: SignedInUser, token: String, audiences: Set<String>, expiresAt: Int64) {
        let key = Self.key(token, audiences)
        entries.withLockedValue { entries in
            if entries.count >= Self.capacity { entries.removeAll(keepingCapacity: true) }
            entries[key] = Entry(user: user, expiresAt: expiresAt)
        }
    }

    private static func key(_ token: String, _ audiences: Set<String>) -> String {
        let digest = SHA256.hash(data: Array((token + "\n" + audiences.sorted().joined(separator: " ")).utf8))
        return digest.map { String($0, radix: 16) }.joined()
    }
}

extension CookieAuthenticator {
    public func cachedBearer(_ token: String, audiences: Set<String>, providers: [Int], now: Int64) -> SignedInUser? {
        guard providers.contains(index) else { return nil }
        return bearerCache.user(for: token, audiences: audiences, now: now)
    }

    public func verifyBearer(_ token: String, audiences: Set<String>, providers: [Int], now: Int64) async -> SignedInUser? {
        guard providers.contains(index), let keys = directory.keys else { return nil }
        let purpose = IDTokenVerifier.Purpose.accessToken(audiences: audiences)
        let claims: IDTokenClaims
        do {
            claims = try await verifier.verify(token, keys: keys, purpose: purpose, now: Double(now))
        } catch where error.reason == .unknownKey {
            guard let fresh = await directory.refetchKeys(),
                let verified = try? await verifier.verify(token, keys: fresh, purpose: purpose, now: Double(now))
            else { return nil }
            claims = verified
        } catch {
            logger.debug("bearer token refused", metadata: ["reason": "\(error.reason.rawValue)"])
            return nil
        }
        let identity = provider.claims.identity(from: claims.all)
        let user = SignedInUser(
            user: identity.user, email: identity.email, emailVerified: identity.emailVerified || !provider.requireVerifiedEmail,
            groups: identity.groups, roles: identity.roles,
            claims: keptClaims(from: claims.all),
            accessToken: token, subject: claims["sub"]?.string ?? "")
        let expiresAt = claims["exp"]?.unixSeconds ?? now
        bearerCache.remember(user, token: token, audiences: audiences, expiresAt: expiresAt)
        return user
    }
}

import NIOConcurrencyHelpers

/// Where revocations are shared: the in-memory store for one replica, PostgreSQL for several.
/// Requests never wait on it: they read `cache`, which `run()` keeps up to date.
public protocol RevocationStore: Sendable {
    var cache: RevocationCache { get }
    /// Records `revocation` for every replica (and in this one's cache before returning).
    func revoke(_ revocation: Revocation, now: Int64) async throws
    /// Records a logout token's `jti` until `expiresAt`; false when it was recorded before (a replay).
    func claimLogoutToken(id: String, expiresAt: Int64, now: Int64) async throws -> Bool
    /// Keeps `cache` in step with the shared list until the task is cancelled.
    func run() async
}

/// One replica: the cache is the list. Logout-token ids are kept until they expire.
public final class InMemoryRevocationStore: RevocationStore {
    public let cache = RevocationCache(maxStaleness: nil)
    private let claimed = NIOLockedValueBox<[String: Int64]>([:])

    public init() {}

    public func revoke(_ revocation: Revocation, now: Int64) async throws {
        cache.apply([revocation], now: now)
    }

    public func claimLogoutToken(id: String, expiresAt: Int64, now: Int64) async throws -> Bool {
        claimed.withLockedValue { claimed in
            claimed = claimed.filter { $0.value > now }
            guard claimed[id] == nil else { return false }
            claimed[id] = expiresAt
            return true
        }
    }

    public func run() async {}
}

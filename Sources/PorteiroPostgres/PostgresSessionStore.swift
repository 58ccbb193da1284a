import Crypto
import ExtrasBase64
import Foundation
public import Logging
import NIOConcurrencyHelpers
public import PorteiroSessions
public import PostgresNIO

/// Sessions kept in PostgreSQL (`session.store: postgres`), for IdPs whose tokens do not fit in
/// cookies: the cookie holds only a sealed random id. Rows are sealed too (the same secrets as
/// cookies), keyed by a hash of the id, so a copy of the table opens nothing. Each replica caches
/// what it read for `cacheLifetime`, which bounds how long a session signed out on one replica
/// still works on another; a refresh updates the row in place, so the cookie never changes, and so
/// does recording activity (`session.idle_timeout`: the last activity is in the row).
public final class PostgresSessionStore: SessionStore {
    private struct Cached {
        var session: Session
        var until: ContinuousClock.Instant
    }

    public static let cacheLifetime: Duration = .seconds(5)
    static let maxCached = 100_000
    private let client: PostgresClient
    private let sealer: SessionSealer
    private let logger: Logger
    /// `session.idle_timeout` in seconds; 0 = none.
    private let idleTimeout: Int64
    private let cache = NIOLockedValueBox<[String: Cached]>([:])
    private let schema = PostgresSchema([
        "CREATE TABLE IF NOT EXISTS porteiro_sessions (key text PRIMARY KEY, data text NOT NULL, expires_at bigint NOT NULL)",
        "CREATE INDEX IF NOT EXISTS porteiro_sessions_expiry ON porteiro_sessions (expires_at)",
    ])

    public init(configuration: PostgresClient.Configuration, sealer: SessionSealer, logger: Logger, idleTimeout: Int64 = 0) {
        self.idleTimeout = idleTimeout
        var poolLogger = logger
        poolLogger.logLevel = max(logger.logLevel, .warning)
        self.client = PostgresClient(configuration: configuration, backgroundLogger: poolLogger)
        self.sealer = sealer
        self.logger = logger
    }

    public var reuseLimit: Duration? { Self.cacheLifetime }

    /// Runs the connection pool and deletes expired rows every minute, until cancelled.
    public func run() async {
        await withDiscardingTaskGroup { group in
            group.addTask { await self.client.run() }
            while !Task.isCancelled {
                let now = Int64(Date().timeIntervalSince1970)
                _ = try? await withTimeout(PostgresRevocationStore.operationTimeout) {
                    try await self.schema.ensure(self.client, logger: self.logger)
                    try await self.client.query("DELETE FROM porteiro_sessions WHERE expires_at <= \(now)", logger: self.logger)
                }
                try? await Task.sleep(for: .seconds(60))
            }
            group.cancelAll()
        }
    }

    public func cachedSession(for cookieValue: String, now: Int64) -> SessionLookup {
        guard let id = sessionID(cookieValue) else { return .rejected(.unreadable) }
        let instant = ContinuousClock.now
        guard let cached = cache.withLockedValue({ $0[id] }), instant < cached.until else { return .unknown }
        switch cached.session.lookup(now: now, idleTimeout: idleTimeout) {
        case .rejected(.idle): return .unknown  // another replica may have seen it used since
        case let lookup: return lookup
        }
    }

    public func session(for cookieValue: String, now: Int64) async throws -> SessionLookup {
        guard let id = sessionID(cookieValue) else { return .rejected(.unreadable) }
        let data: String? = try await withTimeout(PostgresRevocationStore.operationTimeout) {
            try await self.schema.ensure(self.client, logger: self.logger)
            let rows = try await self.client.query(
                "SELECT data FROM porteiro_sessions WHERE key = \(Self.key(id)) AND expires_at > \(now)", logger: self.logger)
            for try await data in rows.decode(String.self) { return data }
            return nil
        }
        guard let data, let bytes = sealer.open(data, purpose: "session"), let session = Session(decoding: bytes) else {
            forget(id)
            return .rejected(.unreadable)
        }
        remember(session, id: id)
        return session.lookup(now: now, idleTimeout: idleTimeout)
    }

    public func save(_ session: Session, replacing cookieValue: String?, now: Int64) async throws -> String {
        let data = sealer.seal(session.encoded(), purpose: "session")
        if let cookieValue, let id = sessionID(cookieValue) {
            let updated: Bool = try await withTimeout(PostgresRevocationStore.operationTimeout) {
                try await self.schema.ensure(self.client, logger: self.logger)
                let rows = try await self.client.query("""
                    UPDATE porteiro_sessions SET data = \(data), expires_at = \(session.expiresAt) WHERE key = \(Self.key(id)) RETURNING key
                    """, logger: self.logger)
                for try await _ in rows { return true }
                return false
            }
            guard updated else {
                forget(id)
                throw SessionGone()
            }
            remember(session, id: id)
            return cookieValue
        }
        let id = Base64.encodeToString(bytes: SymmetricKey(size: .bits256).withUnsafeBytes { Array($0) }, options: [.base64UrlAlphabet, .omitPaddingCharacter])
        try await withTimeout(PostgresRevocationStore.operationTimeout) {
            try await self.schema.ensure(self.client, logger: self.logger)
            try await self.client.query(
                "INSERT INTO porteiro_sessions (key, data, expires_at) VALUES (\(Self.key(id)), \(data), \(session.expiresAt))",
                logger: self.logger)
        }
        remember(session, id: id)
        return sealer.seal(Array(id.utf8), purpose: "session-id")
    }

    public func delete(_ cookieValue: String) async throws {
        guard let id = sessionID(cookieValue) else { return }
        forget(id)
        try await withTimeout(PostgresRevocationStore.operationTimeout) {
            try await self.client.query("DELETE FROM porteiro_sessions WHERE key = \(Self.key(id))", logger: self.logger)
        }
    }

    private func sessionID(_ cookieValue: String) -> String? {
        sealer.open(cookieValue, purpose: "session-id").map { String(decoding: $0, as: UTF8.self) }
    }

    private func remember(_ session: Session, id: String) {
        cache.withLockedValue { cache in
            if cache.count >= Self.maxCached { cache.removeAll(keepingCapacity: true) }
            cache[id] = Cached(session: session, until: .now + Self.cacheLifetime)
        }
    }

    private func forget(_ id: String) {
        _ = cache.withLockedValue { $0.removeValue(forKey: id) }
    }

    /// What the table is keyed by: a hash, so the table alone cannot name a cookie.
    private static func key(_ id: String) -> String {
        SHA256.hash(data: Array(id.utf8)).map { String(format: "%02x", $0) }.joined()
    }
}

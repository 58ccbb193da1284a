import Foundation
public import Logging
import NIOConcurrencyHelpers
public import PorteiroSessions
public import PostgresNIO

/// Revocations shared by every replica through PostgreSQL. A revocation is one upserted row and a
/// `NOTIFY`; each replica `LISTEN`s and reads the rows changed since its last read, and also polls
/// every `pollInterval`, which is its heartbeat: while the database is unreachable it keeps
/// serving from its cache, and `/ready` fails once the cache is older than `maxStaleness`.
/// Rows expire with the sessions they could match, so the tables stay small.
///
/// "Changed since" is by the database's clock (`changed_at`, µs), and each read reaches back
/// `rereadWindow` before the newest row it has seen: a row stamped by a transaction that
/// committed after a later one was read is still picked up (a sequence number would be skipped
/// forever). Re-read rows change nothing.
public final class PostgresRevocationStore: RevocationStore {
    public let cache: RevocationCache
    private let client: PostgresClient
    private let pollInterval: Duration
    private let logger: Logger
    private let lastSeen = NIOLockedValueBox<Int64>(0)
    static let rereadWindow: Int64 = 60_000_000
    private let schema = PostgresSchema([
        """
        CREATE TABLE IF NOT EXISTS porteiro_revocations (kind text NOT NULL, key text NOT NULL,
          cutoff bigint NOT NULL DEFAULT 0, expires_at bigint NOT NULL,
          changed_at bigint NOT NULL DEFAULT (extract(epoch from now()) * 1000000)::bigint, PRIMARY KEY (kind, key))
        """,
        "CREATE INDEX IF NOT EXISTS porteiro_revocations_changed ON porteiro_revocations (changed_at)",
        "CREATE TABLE IF NOT EXISTS porteiro_logout_tokens (jti text PRIMARY KEY, expires_at bigint NOT NULL)",
    ])
    static let channel = "porteiro_revocations"
    /// A back-channel logout waits at most this long for the database; the IdP then gets a 503
    /// it may retry, instead of a request hanging while the pool keeps trying to connect.
    static let operationTimeout: Duration = .seconds(5)

    public init(configuration: PostgresClient.Configuration, pollInterval: Duration, maxStaleness: Duration, logger: Logger) {
        // The pool logs every failed connection attempt at info: one line a second during an
        // outage. Porteiro logs the outage itself, once, at warning.
        var poolLogger = logger
        poolLogger.logLevel = max(logger.logLevel, .warning)
        self.client = PostgresClient(configuration: configuration, backgroundLogger: poolLogger)
        self.cache = RevocationCache(maxStaleness: maxStaleness)
        self.pollInterval = pollInterval
        self.logger = logger
    }

    public func run() async {
        await withDiscardingTaskGroup { group in
            group.addTask { await self.client.run() }
            group.addTask { await self.listenForNotifications() }
            await self.poll()
            group.cancelAll()
        }
    }

    public func revoke(_ revocation: Revocation, now: Int64) async throws {
        try await withTimeout(Self.operationTimeout) { try await self.insert(revocation) }
        cache.apply([revocation], now: now)
    }

    public func claimLogoutToken(id: String, expiresAt: Int64, now: Int64) async throws -> Bool {
        try await withTimeout(Self.operationTimeout) {
            try await self.schema.ensure(self.client, logger: self.logger)
            let rows = try await self.client.query("""
                INSERT INTO porteiro_logout_tokens (jti, expires_at) VALUES (\(id), \(expiresAt)) ON CONFLICT (jti) DO NOTHING
                RETURNING jti
                """, logger: self.logger)
            for try await _ in rows { return true }
            return false
        }
    }

    private func insert(_ revocation: Revocation) async throws {
        try await schema.ensure(client, logger: logger)
        let (kind, key, cutoff) = Self.row(revocation.target)
        try await client.query("""
            INSERT INTO porteiro_revocations (kind, key, cutoff, expires_at) VALUES (\(kind), \(key), \(cutoff), \(revocation.expiresAt))
            ON CONFLICT (kind, key) DO UPDATE SET cutoff = GREATEST(porteiro_revocations.cutoff, EXCLUDED.cutoff),
              expires_at = GREATEST(porteiro_revocations.expires_at, EXCLUDED.expires_at),
              changed_at = (extract(epoch from now()) * 1000000)::bigint
            """, logger: logger)
        try await client.query("SELECT pg_notify(\(Self.channel), '')", logger: logger)
    }

    /// Reads the rows changed since the last read into the cache, and drops expired rows.
    func sync(now: Int64 = Int64(Date().timeIntervalSince1970)) async throws {
        try await schema.ensure(client, logger: logger)
        let since = lastSeen.withLockedValue { $0 }
        let rows = try await client.query("""
            SELECT changed_at, kind, key, cutoff, expires_at FROM porteiro_revocations
            WHERE changed_at > \(since - Self.rereadWindow) AND expires_at > \(now)
            """, logger: logger)
        var revocations: [Revocation] = []
        var newest = since
        for try await (changedAt, kind, key, cutoff, expiresAt) in rows.decode((Int64, String, String, Int64, Int64).self) {
            newest = max(newest, changedAt)
            let target: Revocation.Target = switch kind {
            case "sid": .session(sid: key)
            case "signout": .signedOut(sessionID: key)
            default: .subject(sub: key, loggedInBefore: cutoff)
            }
            revocations.append(Revocation(target: target, expiresAt: expiresAt))
        }
        if cache.apply(revocations, now: now) {
            logger.info("revocations received", metadata: ["rows": "\(revocations.count)", "revoked": "\(cache.count)"])
        }
        lastSeen.withLockedValue { $0 = max($0, newest) }
        cache.markSynced()
        try await client.query("DELETE FROM porteiro_revocations WHERE expires_at <= \(now)", logger: logger)
        try await client.query("DELETE FROM porteiro_logout_tokens WHERE expires_at <= \(now)", logger: logger)
    }

    private func poll() async {
        var failing = false
        while !Task.isCancelled {
            do {
                try await withTimeout(Self.operationTimeout) { try await self.sync() }
                if failing { logger.notice("revocation store reachable again") }
                failing = false
            } catch {
                if !failing {
                    logger.warning("revocation store unreachable; serving with the last copy", metadata: ["error": "\(String(reflecting: error))"])
                }
                failing = true
            }
            try? await Task.sleep(for: pollInterval)
        }
    }

    /// Reads as soon as another replica notifies; reconnects after a lost connection.
    private func listenForNotifications() async {
        while !Task.isCancelled {
            do {
                try await schema.ensure(client, logger: logger)
                try await client.withConnection { connection in
                    try await connection.listen(on: Self.channel) { notifications in
                        try await self.sync()
                        for try await _ in notifications { try await self.sync() }
                    }
                }
            } catch {
                try? await Task.sleep(for: min(pollInterval, .seconds(1)))
            }
        }
    }

    private static func row(_ target: Revocation.Target) -> (kind: String, key: String, cutoff: Int64) {
        switch target {
        case .session(let sid): ("sid", sid, 0)
        case .subject(let sub, let cutoff): ("sub", sub, cutoff)
        case .signedOut(let id): ("signout", id, 0)
        }
    }
}

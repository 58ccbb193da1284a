import Foundation
import Logging
import PorteiroPostgres
import PorteiroSessions
import Testing

/// One contract, two session stores: in the cookie, and in PostgreSQL behind a sealed id.
@Suite struct SessionStoreContractTests {
    static let sealer = SessionSealer(secrets: [Array((0..<32).map { UInt8($0) })])

    struct Running {
        let store: any SessionStore
        let task: Task<Void, Never>
    }

    static func start(_ kind: String, idleTimeout: Int64 = 0) throws -> Running {
        let store: any SessionStore = kind == "cookie"
            ? CookieSessionStore(sealer: sealer, idleTimeout: idleTimeout)
            : PostgresSessionStore(
                configuration: try DatabaseURL.configuration(testDatabaseURL()), sealer: sealer,
                logger: Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }, idleTimeout: idleTimeout)
        return Running(store: store, task: Task { await store.run() })
    }

    static func bigSession(expiresAt: Int64 = now + 3600) -> Session {
        let token = String(repeating: "t", count: 12_000)  // no cookie holds this
        return Session(subject: "maria-id", user: "maria", accessToken: token, sid: unique("sid"), createdAt: now, expiresAt: expiresAt)
    }

    func found(_ lookup: SessionLookup) -> Session? {
        if case .found(let session) = lookup { return session }
        return nil
    }

    @Test(arguments: ["cookie", "postgres"])
    func aSavedSessionReadsBackAndATamperedValueDoesNot(kind: String) async throws {
        let running = try Self.start(kind)
        defer { running.task.cancel() }
        let session = Self.bigSession()
        let value = try await running.store.save(session, replacing: nil, now: now)
        #expect(found(try await running.store.session(for: value, now: now)) == session)
        var tampered = Array(value.utf8)
        tampered[tampered.count / 2] ^= 1
        guard case .rejected(.unreadable) = try await running.store.session(for: String(decoding: tampered, as: UTF8.self), now: now) else {
            Issue.record("a tampered value must not open")
            return
        }
        if kind == "postgres" {
            #expect(value.utf8.count < 200, "only a sealed id travels in the cookie")
        }
    }

    /// `session.idle_timeout`: unused that long, a session is over; its recorded activity (a
    /// fresh cookie, or the row) moves that end, and survives a read on another replica.
    @Test(arguments: ["cookie", "postgres"])
    func anIdleSessionIsRejectedAndRecordedActivityKeepsItAlive(kind: String) async throws {
        let running = try Self.start(kind, idleTimeout: 600)
        defer { running.task.cancel() }
        let session = Self.bigSession(expiresAt: now + 8 * 3600)
        let value = try await running.store.save(session, replacing: nil, now: now)
        #expect(found(try await running.store.session(for: value, now: now + 599)) != nil)
        guard case .rejected(.idle) = try await running.store.session(for: value, now: now + 600) else {
            Issue.record("unused for the whole idle timeout: over")
            return
        }
        var used = session
        used.lastSeenAt = now + 500
        let touched = try await running.store.save(used, replacing: value, now: now + 500)
        #expect(found(try await running.store.session(for: touched, now: now + 1099))?.lastSeenAt == now + 500)
        let elsewhere = try Self.start(kind, idleTimeout: 600)  // another replica, nothing cached
        defer { elsewhere.task.cancel() }
        #expect(found(try await elsewhere.store.session(for: touched, now: now + 1099)) != nil)
        guard case .rejected(.idle) = try await elsewhere.store.session(for: touched, now: now + 1100) else {
            Issue.record("idle again 600 s after the recorded activity")
            return
        }
        let noTimeout = try Self.start(kind)
        defer { noTimeout.task.cancel() }
        #expect(found(try await noTimeout.store.session(for: touched, now: now + 7 * 3600)) != nil, "off by default")
    }

    @Test(arguments: ["cookie", "postgres"])
    func anExpiredSessionIsRejected(kind: String) async throws {
        let running = try Self.start(kind)
        defer { running.task.cancel() }
        let value = try await running.store.save(Self.bigSession(expiresAt: now + 1), replacing: nil, now: now)
        let later = try await running.store.session(for: value, now: now + 5)
        if case .found = later { Issue.record("an expired session must not be found") }
    }

    @Test(arguments: ["cookie", "postgres"])
    func aRefreshReplacesTheSessionAndALoginNeverReusesAValue(kind: String) async throws {
        let running = try Self.start(kind)
        defer { running.task.cancel() }
        let session = Self.bigSession()
        let first = try await running.store.save(session, replacing: nil, now: now)
        var refreshed = session
        refreshed.accessToken = "new-token"
        let second = try await running.store.save(refreshed, replacing: first, now: now)
        #expect(found(try await running.store.session(for: second, now: now))?.accessToken == "new-token")
        let other = try await running.store.save(session, replacing: nil, now: now)
        #expect(other != first && other != second, "a login gets a value of its own")
    }
}

/// What only the shared session store does: one replica's sign-out and refresh seen by another.
@Suite struct PostgresSessionReplicaTests {
    @Test func aSessionSavedOnOneReplicaIsReadOnAnotherAndSignOutIsFinal() async throws {
        let (a, b) = (try SessionStoreContractTests.start("postgres"), try SessionStoreContractTests.start("postgres"))
        defer { a.task.cancel(); b.task.cancel() }
        let session = SessionStoreContractTests.bigSession()
        let value = try await a.store.save(session, replacing: nil, now: now)
        guard case .unknown = b.store.cachedSession(for: value, now: now) else {
            Issue.record("replica B has not read it yet")
            return
        }
        guard case .found(let read) = try await b.store.session(for: value, now: now), read == session else {
            Issue.record("replica B reads it from the database")
            return
        }
        guard case .found = b.store.cachedSession(for: value, now: now) else {
            Issue.record("and then has it cached")
            return
        }
        try await a.store.delete(value)
        guard case .rejected = try await b.store.session(for: value, now: now) else {
            Issue.record("signed out on A, gone for B's next read")
            return
        }
        await #expect(throws: SessionGone.self, "a refresh cannot bring a signed-out session back") {
            try await b.store.save(session, replacing: value, now: now)
        }
    }
}

import Foundation
import Logging
import PorteiroPostgres
import PorteiroSessions
import PostgresNIO
import Testing

/// The database the test command starts (scripts/postgres.sh); a missing one fails loudly.
func testDatabaseURL() throws -> String {
    guard let url = ProcessInfo.processInfo.environment["PORTEIRO_TEST_DATABASE_URL"] else {
        throw TestDatabaseMissing()
    }
    return url
}

struct TestDatabaseMissing: Error, CustomStringConvertible {
    var description: String {
        "PORTEIRO_TEST_DATABASE_URL is not set: run the tests with `bash scripts/test.sh` (it installs and starts PostgreSQL), "
            + "or `scripts/postgres.sh start /tmp/porteiro-pg` and export the URL it prints"
    }
}

/// A store and the task that keeps its cache in step, for one test.
struct RunningStore {
    let store: any RevocationStore
    let task: Task<Void, Never>

    static func make(_ kind: String, pollInterval: Duration = .seconds(1), url: String? = nil) throws -> RunningStore {
        let store: any RevocationStore = kind == "memory"
            ? InMemoryRevocationStore()
            : PostgresRevocationStore(
                configuration: try DatabaseURL.configuration(url ?? testDatabaseURL()), pollInterval: pollInterval,
                maxStaleness: pollInterval * 3, logger: Logger(label: "test") { _ in SwiftLogNoOpLogHandler() })
        return RunningStore(store: store, task: Task { await store.run() })
    }
}

func session(sub: String = "maria-id", sid: String?, createdAt: Int64) -> Session {
    Session(subject: sub, user: "maria", accessToken: "t", sid: sid, createdAt: createdAt, expiresAt: createdAt + 3600)
}

func unique(_ prefix: String) -> String { "\(prefix)-\(UUID().uuidString)" }

let now = Int64(Date().timeIntervalSince1970)

/// One contract, two stores: what the authenticator relies on holds for the in-memory store and
/// for PostgreSQL alike.
@Suite struct RevocationStoreContractTests {
    @Test(arguments: ["memory", "postgres"])
    func aRevokedSessionIsInTheLocalCacheWhenRevokeReturns(kind: String) async throws {
        let running = try RunningStore.make(kind)
        defer { running.task.cancel() }
        let sid = unique("sid")
        let generation = running.store.cache.generation
        try await running.store.revoke(Revocation(target: .session(sid: sid), expiresAt: now + 60), now: now)
        #expect(running.store.cache.revokes(session(sid: sid, createdAt: now - 10)))
        #expect(!running.store.cache.revokes(session(sid: unique("sid"), createdAt: now - 10)))
        #expect(running.store.cache.generation != generation)
    }

    @Test(arguments: ["memory", "postgres"])
    func aSubjectCutoffEndsEarlierSessionsOnly(kind: String) async throws {
        let running = try RunningStore.make(kind)
        defer { running.task.cancel() }
        let sub = unique("sub")
        try await running.store.revoke(
            Revocation(target: .subject(sub: sub, loggedInBefore: now - 30), expiresAt: now + 60), now: now)
        #expect(running.store.cache.revokes(session(sub: sub, sid: nil, createdAt: now - 60)))
        #expect(!running.store.cache.revokes(session(sub: sub, sid: nil, createdAt: now - 5)), "logged in again since")
    }

    @Test(arguments: ["memory", "postgres"])
    func aLogoutTokenIDIsClaimedOnce(kind: String) async throws {
        let running = try RunningStore.make(kind)
        defer { running.task.cancel() }
        let jti = unique("jti")
        #expect(try await running.store.claimLogoutToken(id: jti, expiresAt: now + 60, now: now))
        #expect(try await !running.store.claimLogoutToken(id: jti, expiresAt: now + 60, now: now), "a replay")
        #expect(try await running.store.claimLogoutToken(id: unique("jti"), expiresAt: now + 60, now: now))
    }

    @Test(arguments: ["memory", "postgres"])
    func expiredRevocationsAreDropped(kind: String) async throws {
        let running = try RunningStore.make(kind)
        defer { running.task.cancel() }
        let sid = unique("sid")
        try await running.store.revoke(Revocation(target: .session(sid: sid), expiresAt: now + 1), now: now)
        #expect(running.store.cache.revokes(session(sid: sid, createdAt: now - 10)))
        running.store.cache.apply([], now: now + 2)
        #expect(!running.store.cache.revokes(session(sid: sid, createdAt: now - 10)), "gone once it cannot match a live session")
    }
}

/// What only a shared store can do: two replicas, one database.
@Suite struct PostgresReplicaTests {
    @Test func aRevocationOnOneReplicaReachesAnotherByNotify() async throws {
        let (a, b) = (try RunningStore.make("postgres", pollInterval: .seconds(30)), try RunningStore.make("postgres", pollInterval: .seconds(30)))
        defer { a.task.cancel(); b.task.cancel() }
        try await waitUntil(timeout: .seconds(30)) { b.store.cache.isFresh() }
        let sid = unique("sid")
        try await a.store.revoke(Revocation(target: .session(sid: sid), expiresAt: now + 60), now: now)
        let started = ContinuousClock.now
        try await waitUntil(timeout: .seconds(25)) { b.store.cache.revokes(session(sid: sid, createdAt: now - 10)) }
        // Usually milliseconds; bounded generously so a loaded machine cannot fail it, yet well
        // before the 30 s poll, which is what would deliver it without NOTIFY.
        #expect(started.duration(to: .now) < .seconds(15), "by NOTIFY, long before the 30 s poll")
    }

    /// A sign-out on one replica: a copy of that cookie opens nothing on another.
    @Test func aSignOutOnOneReplicaRevokesTheSessionIDOnAnother() async throws {
        let (a, b) = (try RunningStore.make("postgres", pollInterval: .seconds(30)), try RunningStore.make("postgres", pollInterval: .seconds(30)))
        defer { a.task.cancel(); b.task.cancel() }
        try await waitUntil(timeout: .seconds(30)) { b.store.cache.isFresh() }
        var signedOut = session(sid: nil, createdAt: now - 10)
        signedOut.id = unique("id")
        var other = signedOut
        other.id = unique("id")
        try await a.store.revoke(Revocation(target: .signedOut(sessionID: signedOut.id), expiresAt: now + 60), now: now)
        #expect(a.store.cache.revokes(signedOut))
        try await waitUntil(timeout: .seconds(25)) { b.store.cache.revokes(signedOut) }
        #expect(!b.store.cache.revokes(other), "only that session: the user's others stay")
    }

    @Test func aTokenIDClaimedOnOneReplicaIsAReplayOnAnother() async throws {
        let (a, b) = (try RunningStore.make("postgres"), try RunningStore.make("postgres"))
        defer { a.task.cancel(); b.task.cancel() }
        let jti = unique("jti")
        #expect(try await a.store.claimLogoutToken(id: jti, expiresAt: now + 60, now: now))
        #expect(try await !b.store.claimLogoutToken(id: jti, expiresAt: now + 60, now: now))
    }

    /// A row stamped by a transaction that commits after a later row was read (two replicas
    /// revoking at once) must still reach every replica.
    @Test func aRevocationCommittedLateIsStillPickedUp() async throws {
        let replica = try RunningStore.make("postgres", pollInterval: .milliseconds(200))
        defer { replica.task.cancel() }
        let sid = unique("sid")
        try await replica.store.revoke(Revocation(target: .session(sid: unique("sid")), expiresAt: now + 60), now: now)
        try await waitUntil { replica.store.cache.isFresh() }
        let client = PostgresClient(configuration: try DatabaseURL.configuration(testDatabaseURL()))
        let running = Task { await client.run() }
        defer { running.cancel() }
        try await client.query("""
            INSERT INTO porteiro_revocations (kind, key, expires_at, changed_at)
            VALUES ('sid', \(sid), \(now + 60), (extract(epoch from now()) * 1000000)::bigint - 10000000)
            """, logger: Logger(label: "test") { _ in SwiftLogNoOpLogHandler() })
        try await waitUntil { replica.store.cache.revokes(session(sid: sid, createdAt: now - 10)) }
    }

    @Test func anUnreachableDatabaseKeepsTheCacheAndTurnsStale() async throws {
        let running = try RunningStore.make("postgres", pollInterval: .milliseconds(200), url: "postgres://porteiro:x@127.0.0.1:1/none?sslmode=disable")
        defer { running.task.cancel() }
        #expect(!running.store.cache.isFresh(), "never synced")
        running.store.cache.apply([Revocation(target: .session(sid: "kept"), expiresAt: now + 60)], now: now)
        running.store.cache.markSynced()
        #expect(running.store.cache.isFresh())
        try await waitUntil { !running.store.cache.isFresh() }
        #expect(running.store.cache.revokes(session(sid: "kept", createdAt: now - 10)), "the last copy still answers")
        await #expect(throws: (any Error).self) {
            try await running.store.revoke(Revocation(target: .session(sid: "x"), expiresAt: now + 60), now: now)
        }
    }
}

struct TimedOut: Error {}

func waitUntil(timeout: Duration = .seconds(20), _ condition: () -> Bool) async throws {
    let deadline = ContinuousClock.now + timeout
    while !condition() {
        guard ContinuousClock.now < deadline else { throw TimedOut() }
        try await Task.sleep(for: .milliseconds(20))
    }
}

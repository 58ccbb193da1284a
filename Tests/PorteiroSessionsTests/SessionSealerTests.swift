@testable import PorteiroSessions
import Testing

let secretA = Array(repeating: UInt8(1), count: 32)
let secretB = Array(repeating: UInt8(2), count: 32)

func keycloakLikeSession() -> Session {
    let token = String(repeating: "eyJhbGciOiJSUzI1NiJ9.", count: 60)
    return Session(
        id: "0123456789abcdef0123456789abcdef", subject: "f:3b1c:maria", user: "maria", email: "maria@example.org",
        emailVerified: true, groups: ["servidores", "rh"], roles: ["portal-user"], accessToken: token, refreshToken: token,
        idToken: token, sid: "sid-1", accessTokenExpiresAt: 1_800_000_300, accessTokenIssuedAt: 1_800_000_000,
        createdAt: 1_800_000_000, expiresAt: 1_800_028_800, claims: ["department": ["finance"]])
}

@Suite struct SessionSealerTests {
    @Test func sealsAndOpensASession() throws {
        let sealer = SessionSealer(secrets: [secretA])
        let session = keycloakLikeSession()
        let sealed = sealer.seal(session.encoded(), purpose: "session")
        #expect(sealed.utf8.allSatisfy { $0 < 0x80 && $0 != UInt8(ascii: ";") && $0 != UInt8(ascii: " ") })
        #expect(!sealed.contains("maria"), "the value reveals no claim")
        let opened = try #require(sealer.open(sealed, purpose: "session"))
        #expect(Session(decoding: opened) == session)
        #expect(sealed.utf8.count < session.encoded().count, "repetitive tokens are deflated")
    }

    @Test func everySealIsDifferent() {
        let sealer = SessionSealer(secrets: [secretA])
        #expect(sealer.seal([1, 2, 3], purpose: "p") != sealer.seal([1, 2, 3], purpose: "p"))
    }

    @Test func tamperedTruncatedOrForeignValuesDoNotOpen() {
        let sealer = SessionSealer(secrets: [secretA])
        let sealed = sealer.seal(Array("payload".utf8), purpose: "session")
        var bytes = Array(sealed.utf8)
        // Every character but the last: in unpadded base64 the last one may carry only unused
        // bits, so changing it can decode to the very same (authenticated) bytes.
        for index in stride(from: 0, to: bytes.count - 1, by: 3) {
            let original = bytes[index]
            bytes[index] = original == UInt8(ascii: "A") ? UInt8(ascii: "B") : UInt8(ascii: "A")
            #expect(sealer.open(String(decoding: bytes, as: UTF8.self), purpose: "session") == nil, "byte \(index)")
            bytes[index] = original
        }
        #expect(sealer.open(String(sealed.dropLast(4)), purpose: "session") == nil)
        #expect(sealer.open("", purpose: "session") == nil)
        #expect(sealer.open("not base64 at all!", purpose: "session") == nil)
        #expect(sealer.open(sealed, purpose: "state") == nil, "sealed for another purpose")
        #expect(SessionSealer(secrets: [secretB]).open(sealed, purpose: "session") == nil, "another secret")
    }

    @Test func rotationKeepsOldSealsOpenUntilTheSecretIsRetired() {
        let before = SessionSealer(secrets: [secretA]).seal([42], purpose: "session")
        let rotated = SessionSealer(secrets: [secretB, secretA])
        #expect(rotated.open(before, purpose: "session") == [42])
        let after = rotated.seal([43], purpose: "session")
        #expect(SessionSealer(secrets: [secretA]).open(after, purpose: "session") == nil, "new seals use the first secret")
        #expect(SessionSealer(secrets: [secretB]).open(before, purpose: "session") == nil, "retired secret")
    }

    @Test func refusesOversizedInput() {
        let sealer = SessionSealer(secrets: [secretA])
        #expect(sealer.open(String(repeating: "A", count: 200_000), purpose: "session") == nil)
    }

    @Test func sessionCodecRejectsTrailingOrShortBytes() {
        let bytes = keycloakLikeSession().encoded()
        #expect(Session(decoding: bytes + [0]) == nil)
        #expect(Session(decoding: Array(bytes.dropLast())) == nil)
        #expect(Session(decoding: [9] + bytes.dropFirst()) == nil, "unknown format version")
        #expect(Session(decoding: [3, 0xff, 0xff, 0xff, 0xff, 0x0f]) == nil, "length beyond the input")
        #expect(Session(decoding: [2] + bytes.dropFirst()) == nil, "the format before session ids")
    }

    @Test func sessionsOfTheFormerFormatStillOpenAsLastActiveAtCreation() {
        var session = keycloakLikeSession()
        session.lastSeenAt = 1_800_000_123
        #expect(Session(decoding: session.encoded()) == session)
        session.lastSeenAt = 0
        let former = [3] + session.encoded().dropFirst().dropLast()  // version 3 had no last activity
        #expect(Session(decoding: Array(former)) == session)
        #expect(Session(decoding: [3] + session.encoded().dropFirst()) == nil, "a version 3 session with a trailing byte")
    }

    @Test func knowsWhenItIsIdleAndWhenActivityIsWorthRecording() {
        var session = keycloakLikeSession()
        let created = session.createdAt
        #expect(!session.isIdle(now: created + 10_000_000, idleTimeout: 0), "no idle timeout")
        #expect(session.activityDueAt(idleTimeout: 0) == .max)
        #expect(!session.isIdle(now: created + 599, idleTimeout: 600))
        #expect(session.isIdle(now: created + 600, idleTimeout: 600))
        #expect(session.activityDueAt(idleTimeout: 600) == created + 60, "a tenth of the timeout")
        #expect(session.activityDueAt(idleTimeout: 5) == created + 1, "at least a second")
        session.lastSeenAt = created + 500
        #expect(!session.isIdle(now: created + 1099, idleTimeout: 600) && session.isIdle(now: created + 1100, idleTimeout: 600))
        session.lastSeenAt = .max - 10
        #expect(session.activityDueAt(idleTimeout: 600) == .max && !session.isIdle(now: .max - 1, idleTimeout: 600), "no overflow trap")
    }

    @Test func identityProviderLogoutsAreScopedByIssuerAndBareOnesCountEverywhere() {
        var session = keycloakLikeSession()
        session.sid = "idp-session"
        var list = RevocationList()
        list.apply(Revocation(target: .session(sid: Revocation.scoped("idp-session", issuer: "https://a")), expiresAt: .max))
        #expect(list.revokes(session, issuer: "https://a"))
        #expect(!list.revokes(session, issuer: "https://b"), "the same sid at another realm is another session")
        var subjects = RevocationList()
        subjects.apply(Revocation(target: .subject(sub: Revocation.scoped(session.subject, issuer: "https://b"), loggedInBefore: .max), expiresAt: .max))
        #expect(subjects.revokes(session, issuer: "https://b") && !subjects.revokes(session, issuer: "https://a"))
        var bare = RevocationList()
        bare.apply(Revocation(target: .session(sid: "idp-session"), expiresAt: .max))
        #expect(bare.revokes(session, issuer: "https://a") && bare.revokes(session, issuer: "https://b"), "recorded before scoping: fails closed")
    }

    @Test func knowsWhenToRefresh() {
        var session = keycloakLikeSession()
        #expect(session.tokenState(now: 1_800_000_000, margin: 60) == .fresh(until: 1_800_000_240))
        #expect(session.tokenState(now: 1_800_000_240, margin: 60) == .refreshDue)
        session.refreshToken = nil
        #expect(session.tokenState(now: 1_800_000_240, margin: 60) == .fresh(until: 1_800_000_300), "nothing to refresh with")
        #expect(session.tokenState(now: 1_800_000_300, margin: 60) == .expired, "and then nothing renews it")
        session.accessTokenExpiresAt = 0
        #expect(session.tokenState(now: 1_900_000_000, margin: 60) == .fresh(until: .max), "an expiry nobody told us")
    }

    /// With the shipped `refresh_before: 60s` and a provider whose tokens live 5 s, a refresh falls
    /// due at half the lifetime — not at once, on every request, forever.
    @Test func aMarginLongerThanTheTokensLifetimeShrinksToHalfOfIt() {
        var session = keycloakLikeSession()
        session.accessTokenIssuedAt = 1_800_000_000
        session.accessTokenExpiresAt = 1_800_000_005
        #expect(session.refreshMargin(configured: 60) == 2)
        #expect(session.tokenState(now: 1_800_000_000, margin: 60) == .fresh(until: 1_800_000_003))
        #expect(session.tokenState(now: 1_800_000_003, margin: 60) == .refreshDue)
        session.accessTokenIssuedAt = 0
        #expect(session.refreshMargin(configured: 60) == 60, "unknown issue time: the margin as configured")
    }
}

@Suite struct CookieTests {
    let settings = CookieSettings(name: "_porteiro", secure: true)

    @Test func parsesCookieHeaders() {
        let cookies = CookieHeader(["a=1; _porteiro=abc ;b=x=y", "a=2; broken; c="])
        #expect(cookies["a"] == "1")
        #expect(cookies["_porteiro"] == "abc")
        #expect(cookies["b"] == "x=y")
        #expect(cookies["c"] == "")
        #expect(cookies["broken"] == nil)
    }

    @Test func flagsAreSafeByDefault() {
        #expect(settings.setCookie(name: "_porteiro", value: "v", maxAge: 60)
            == "_porteiro=v; Path=/; Max-Age=60; Secure; HttpOnly; SameSite=Lax")
        let plain = CookieSettings(name: "s", secure: false, domain: "example.org")
        #expect(plain.setCookie(name: "s", value: "", maxAge: 0) == "s=; Path=/; Max-Age=0; Domain=example.org; HttpOnly; SameSite=Lax")
        #expect(CookieSettings(name: "_p", secure: true, hostPrefix: true).fullName == "__Host-_p")
    }

    @Test func smallValuesUseOneCookieAndExpireStaleChunks() {
        let present = CookieHeader(["_porteiro_0=a; _porteiro_1=b; _porteiro_state_x=s; other=1"])
        let headers = CookieChunks.write("small", settings: settings, maxAge: 100, present: present)
        #expect(headers.count == 3)
        #expect(headers[0].hasPrefix("_porteiro=small;"))
        #expect(headers[1].hasPrefix("_porteiro_0=; Path=/; Max-Age=0"))
        #expect(headers[2].hasPrefix("_porteiro_1=; Path=/; Max-Age=0"))
    }

    @Test func largeValuesAreChunkedAndReassembled() {
        let value = String(repeating: "x", count: 9_000)
        let headers = CookieChunks.write(value, settings: settings, maxAge: 100, present: CookieHeader(["_porteiro=old"]))
        #expect(headers.count == 4, "three chunks and the deletion of the unchunked cookie")
        #expect(headers.last?.hasPrefix("_porteiro=; Path=/; Max-Age=0") == true)
        let request = headers.dropLast().map { $0.prefix(while: { $0 != ";" }) }.joined(separator: "; ")
        #expect(CookieChunks.read(CookieHeader([request]), name: "_porteiro") == value)
    }

    @Test func aMissingChunkNeverYieldsTheWholeValue() {
        let request = CookieHeader(["_porteiro_0=aaa; _porteiro_2=ccc"])
        #expect(CookieChunks.read(request, name: "_porteiro") == "aaa")
    }
}

/// One session ended: by the IdP (OpenID Connect Back-Channel Logout) either one IdP session by
/// its `sid` or every session of a subject that began at or before a moment; or one Porteiro
/// session signed out here, by its id, so a copy of its cookie opens nothing on any replica. Kept
/// until `expiresAt`, when any session it could match has expired anyway.
public struct Revocation: Sendable, Hashable {
    public enum Target: Sendable, Hashable {
        case session(sid: String)
        case subject(sub: String, loggedInBefore: Int64)
        case signedOut(sessionID: String)
    }

    public var target: Target
    /// Unix seconds.
    public var expiresAt: Int64

    public init(target: Target, expiresAt: Int64) {
        self.target = target
        self.expiresAt = expiresAt
    }

    /// A `sid` or `sub` as an IdP logout from `issuer` records it.
    public static func scoped(_ value: String, issuer: String) -> String {
        issuer + " " + value
    }
}

/// What is revoked, as a lookup made for every request: three dictionaries, no I/O.
public struct RevocationList: Sendable, Equatable {
    /// `sid` → expiry.
    private(set) var sessions: [String: Int64] = [:]
    /// Porteiro session id → expiry.
    private(set) var signedOut: [String: Int64] = [:]
    /// `sub` → (latest cutoff, expiry).
    private(set) var subjects: [String: Cutoff] = [:]

    struct Cutoff: Sendable, Equatable {
        var loggedInBefore: Int64
        var expiresAt: Int64
    }

    public init() {}

    public var count: Int { sessions.count + subjects.count + signedOut.count }

    /// True when `revocation` changed the list.
    @discardableResult
    public mutating func apply(_ revocation: Revocation) -> Bool {
        switch revocation.target {
        case .session(let sid):
            guard (sessions[sid] ?? .min) < revocation.expiresAt else { return false }
            sessions[sid] = revocation.expiresAt
        case .signedOut(let id):
            guard (signedOut[id] ?? .min) < revocation.expiresAt else { return false }
            signedOut[id] = revocation.expiresAt
        case .subject(let sub, let cutoff):
            let old = subjects[sub]
            let new = Cutoff(
                loggedInBefore: max(cutoff, old?.loggedInBefore ?? .min), expiresAt: max(revocation.expiresAt, old?.expiresAt ?? .min))
            guard new != old else { return false }
            subjects[sub] = new
        }
        return true
    }

    /// A session begun at `createdAt` for `subject`, in IdP session `sid`.
    public func revokes(subject: String, sid: String?, createdAt: Int64) -> Bool {
        if let sid, sessions[sid] != nil { return true }
        guard let cutoff = subjects[subject] else { return false }
        return createdAt <= cutoff.loggedInBefore
    }

    /// `issuer`: the session's provider. IdP logouts are recorded per issuer
    /// (`Revocation.scoped`), so a `sub` or `sid` at one realm never ends a session at another;
    /// bare entries (recorded before that) still count for every provider.
    public func revokes(_ session: Session, issuer: String? = nil) -> Bool {
        if !session.id.isEmpty, signedOut[session.id] != nil { return true }
        if sessions.isEmpty, subjects.isEmpty { return false }
        if revokes(subject: session.subject, sid: session.sid, createdAt: session.createdAt) { return true }
        guard let issuer else { return false }
        return revokes(
            subject: Revocation.scoped(session.subject, issuer: issuer), sid: session.sid.map { Revocation.scoped($0, issuer: issuer) },
            createdAt: session.createdAt)
    }

    /// Drops what has expired; true when anything was dropped.
    @discardableResult
    public mutating func prune(now: Int64) -> Bool {
        let before = count
        sessions = sessions.filter { $0.value > now }
        signedOut = signedOut.filter { $0.value > now }
        subjects = subjects.filter { $0.value.expiresAt > now }
        return count != before
    }
}

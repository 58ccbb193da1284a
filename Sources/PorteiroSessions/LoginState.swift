/// One sign-in attempt in flight, sealed into its own short-lived cookie
/// (`<cookie>_state_<first 12 chars of state>`), so several tabs can log in at once.
public struct LoginState: Sendable, Equatable {
    public var state: String
    public var nonce: String
    public var codeVerifier: String
    /// Validated return target (see `ReturnTarget`).
    public var returnTo: String
    public var createdAt: Int64

    public static let lifetime: Int64 = 600
    /// At most this many attempts are kept; older state cookies are expired when a new one starts.
    public static let maxConcurrent = 4
    /// Stale state cookies expired by one response, at most: a jar flooded with forged ones must not
    /// make every answer carry hundreds of `Set-Cookie` lines; the rest go with later answers.
    public static let maxExpiredPerResponse = 16
    static let formatVersion: UInt8 = 1

    public init(state: String, nonce: String, codeVerifier: String, returnTo: String, createdAt: Int64) {
        self.state = state
        self.nonce = nonce
        self.codeVerifier = codeVerifier
        self.returnTo = returnTo
        self.createdAt = createdAt
    }

    public static func cookieName(prefix: String, state: String) -> String {
        "\(prefix)_state_\(state.prefix(12))"
    }

    public func encoded() -> [UInt8] {
        var writer = BinaryWriter(version: Self.formatVersion)
        writer.write(state)
        writer.write(nonce)
        writer.write(codeVerifier)
        writer.write(returnTo)
        writer.write(createdAt)
        return writer.bytes
    }

    public init?(decoding bytes: [UInt8]) {
        guard var reader = BinaryReader(bytes, version: Self.formatVersion),
            let state = reader.string(), let nonce = reader.string(), let verifier = reader.string(),
            let returnTo = reader.string(), let createdAt = reader.int(), reader.isAtEnd
        else { return nil }
        self.init(state: state, nonce: nonce, codeVerifier: verifier, returnTo: returnTo, createdAt: createdAt)
    }

    public func isExpired(now: Int64) -> Bool {
        now - createdAt > Self.lifetime || createdAt - now > 60
    }
}

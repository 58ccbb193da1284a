/// The encrypted session cookie.
public struct SessionConfig: Sendable, Equatable {
    public var cookieName: String
    /// Base64 32-byte secrets; the first seals, every one opens, so rotation logs nobody out.
    public var secrets: [String]
    public var lifetime: Duration

    public init(cookieName: String = "_porteiro", secrets: [String], lifetime: Duration = .seconds(8 * 3600)) {
        self.cookieName = cookieName
        self.secrets = secrets
        self.lifetime = lifetime
    }
}

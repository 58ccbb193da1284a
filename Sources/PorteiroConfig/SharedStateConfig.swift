/// The PostgreSQL database replicas share (revocations). The URL holds a password: give it as
/// `${ENV}` or in `url_file`.
public struct DatabaseConfig: Sendable, Equatable {
    /// `postgres://user:password@host:5432/database?sslmode=require`.
    public var url: String?

    public init(url: String? = nil) {
        self.url = url
    }
}

/// Where back-channel logouts are kept so every replica honours them.
public struct RevocationConfig: Sendable, Equatable {
    public enum Store: String, Sendable, CaseIterable {
        /// This process only: right for a single replica.
        case memory
        /// `database.url`, shared by every replica.
        case postgres
    }

    public var store: Store = .memory
    /// How often a replica re-reads the shared list even without a notification (its heartbeat).
    public var pollInterval: Duration = .seconds(5)
    /// `/ready` fails once the local copy is older than this (the database is unreachable).
    public var maxStaleness: Duration = .seconds(60)

    public init() {}
}

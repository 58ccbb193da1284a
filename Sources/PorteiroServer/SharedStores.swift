import Logging
import PorteiroAuth
import PorteiroConfig
import PorteiroPostgres
import PorteiroSessions
import PostgresNIO

/// The stores the configuration names: `revocation.store` and `session.store`.
enum SharedStores {
    static func revocations(_ config: GatewayConfig, logger: Logger) throws(ConfigProblems) -> any RevocationStore {
        switch config.revocation.store {
        case .memory:
            return InMemoryRevocationStore()
        case .postgres:
            return PostgresRevocationStore(
                configuration: try database(config), pollInterval: config.revocation.pollInterval,
                maxStaleness: config.revocation.maxStaleness, logger: logger)
        }
    }

    /// nil: sessions sealed into the cookie.
    static func sessions(_ config: GatewayConfig, provider index: Int = 0, logger: Logger) throws(ConfigProblems) -> (any SessionStore)? {
        guard let session = config.session, config.providers.indices.contains(index), session.store == .postgres else { return nil }
        let provider = config.providers[index].config
        return PostgresSessionStore(
            configuration: try database(config), sealer: CookieAuthenticator.sealer(for: session, provider: provider), logger: logger,
            idleTimeout: session.idleTimeoutSeconds)
    }

    private static func database(_ config: GatewayConfig) throws(ConfigProblems) -> PostgresClient.Configuration {
        do {
            return try DatabaseURL.configuration(config.database.url ?? "")
        } catch {
            throw ConfigProblems([ConfigProblem(path: "database.url", line: nil, message: error.description)])
        }
    }
}

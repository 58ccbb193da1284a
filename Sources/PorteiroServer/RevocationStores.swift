import Logging
import PorteiroConfig
import PorteiroPostgres
import PorteiroSessions

/// The revocation store `revocation.store` names.
enum RevocationStores {
    static func make(_ config: GatewayConfig, logger: Logger) throws(ConfigProblems) -> any RevocationStore {
        switch config.revocation.store {
        case .memory:
            return InMemoryRevocationStore()
        case .postgres:
            do {
                let database = try DatabaseURL.configuration(config.database.url ?? "")
                return PostgresRevocationStore(
                    configuration: database, pollInterval: config.revocation.pollInterval,
                    maxStaleness: config.revocation.maxStaleness, logger: logger)
            } catch {
                throw ConfigProblems([ConfigProblem(path: "database.url", line: nil, message: error.description)])
            }
        }
    }
}

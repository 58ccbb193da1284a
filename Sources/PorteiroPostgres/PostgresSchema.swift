import Logging
import NIOConcurrencyHelpers
import PostgresNIO

/// Creates a store's tables once per process. Two replicas starting together can race on
/// `CREATE … IF NOT EXISTS` (PostgreSQL then reports a duplicate); the loser's second try finds
/// the object made. No lock is taken, so a cancelled start leaves nothing held.
final class PostgresSchema: Sendable {
    private let statements: [String]
    private let ready = NIOLockedValueBox(false)

    init(_ statements: [String]) {
        self.statements = statements
    }

    func ensure(_ client: PostgresClient, logger: Logger) async throws {
        if ready.withLockedValue({ $0 }) { return }
        for statement in statements {
            let query = PostgresQuery(unsafeSQL: statement)
            do {
                try await client.query(query, logger: logger)
            } catch is PSQLError {
                try await client.query(query, logger: logger)
            }
        }
        ready.withLockedValue { $0 = true }
    }
}

import Crypto
import PorteiroMetrics
import PorteiroSessions

/// Single flight for token refreshes in this process: concurrent requests of one session share one
/// call to the token endpoint. A refresh that loses a race against a rotated refresh token (the
/// IdP says `invalid_grant` because another request already used it) takes that request's result
/// instead of logging the user out.
actor RefreshCoordinator {
    enum Outcome: Sendable {
        case refreshed(Session)
        /// The IdP could not be reached: keep the session as it is.
        case keep(Session)
        /// The IdP refused: the session is over.
        case ended
    }

    private var inFlight: [String: Task<Outcome, Never>] = [:]
    /// Results by the refresh token they replaced, kept for a minute for late losers of a race.
    private var recent: [String: (outcome: Outcome, at: Int64)] = [:]
    private let metrics: GatewayMetrics

    init(metrics: GatewayMetrics) {
        self.metrics = metrics
    }

    func refresh(_ session: Session, now: Int64, using call: @escaping @Sendable (Session) async throws -> Session) async -> Outcome {
        let key = Self.key(session.refreshToken ?? session.accessToken)
        recent = recent.filter { now - $0.value.at < 60 }
        if let done = recent[key] { return done.outcome }
        if let running = inFlight[key] { return await running.value }
        let metrics = self.metrics
        let task = Task<Outcome, Never> {
            do {
                let refreshed = try await call(session)
                metrics.tokenRefreshes.increment()
                return .refreshed(refreshed)
            } catch let failure as ProviderClient.Failure {
                if case .refused = failure {
                    metrics.tokenRefreshFailed(.refused)
                    return .ended
                }
                metrics.tokenRefreshFailed(.unreachable)
                return .keep(session)
            } catch {
                metrics.tokenRefreshFailed(.unreachable)
                return .keep(session)
            }
        }
        inFlight[key] = task
        let outcome = await task.value
        inFlight[key] = nil
        recent[key] = (outcome, now)
        return outcome
    }

    /// Refresh tokens are secrets: they are only held hashed here.
    private static func key(_ token: String) -> String {
        SHA256.hash(data: Array(token.utf8)).prefix(16).map { String($0, radix: 16) }.joined()
    }
}

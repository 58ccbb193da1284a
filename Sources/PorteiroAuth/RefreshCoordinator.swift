import Crypto
import Logging
import PorteiroMetrics
import PorteiroSessions

/// Single flight for token refreshes in this process: concurrent requests of one session share one
/// call to the token endpoint. A refresh that loses a race against a rotated refresh token (the
/// IdP says `invalid_grant` because another request already used it) takes that request's result
/// instead of logging the user out.
///
/// Only an OAuth refusal (a 4xx such as `invalid_grant`) ends a session. An IdP that is down, slow
/// or failing (5xx) keeps it as it is, and the refresh is tried again a few seconds later rather
/// than on every request.
actor RefreshCoordinator {
    enum Outcome: Sendable {
        /// New tokens, and the session cookie's value for them.
        case refreshed(Session, cookieValue: String)
        /// The IdP could not be reached or failed: keep the session as it is.
        case keep(Session)
        /// The IdP refused: the session is over.
        case ended
    }

    private var inFlight: [String: Task<Outcome, Never>] = [:]
    /// Results by the refresh token they replaced, until `until`: a minute for late losers of a
    /// race, `retryAfterFailure` for a failed attempt.
    private var recent: [String: (outcome: Outcome, until: Int64)] = [:]
    private let metrics: GatewayMetrics
    private let logger: Logger
    static let retryAfterFailure: Int64 = 5

    init(metrics: GatewayMetrics, logger: Logger) {
        self.metrics = metrics
        self.logger = logger
    }

    func refresh(
        _ session: Session, now: Int64, using call: @escaping @Sendable (Session) async throws -> (Session, String)
    ) async -> Outcome {
        let key = Self.key(session.refreshToken ?? session.accessToken)
        recent = recent.filter { now < $0.value.until }
        if let done = recent[key] { return done.outcome }
        if let running = inFlight[key] { return await running.value }
        let (metrics, logger) = (self.metrics, self.logger)
        let task = Task<Outcome, Never> {
            do {
                let (refreshed, cookieValue) = try await call(session)
                metrics.tokenRefreshes.increment()
                return .refreshed(refreshed, cookieValue: cookieValue)
            } catch is SessionGone {
                logger.notice("session signed out elsewhere; refresh dropped", metadata: ["user": "\(session.user)"])
                return .ended
            } catch let failure as ProviderClient.Failure {
                if case .refused(let status, _, _) = failure, status < 500 {
                    metrics.tokenRefreshFailed(.refused)
                    logger.notice("token refresh refused; session ended", metadata: ["user": "\(session.user)", "error": "\(failure)"])
                    return .ended
                }
                metrics.tokenRefreshFailed(.unreachable)
                logger.warning("token refresh failed; session kept", metadata: ["user": "\(session.user)", "error": "\(failure)"])
                return .keep(session)
            } catch {
                metrics.tokenRefreshFailed(.unreachable)
                logger.warning("token refresh failed; session kept", metadata: ["user": "\(session.user)", "error": "\(error)"])
                return .keep(session)
            }
        }
        inFlight[key] = task
        let outcome = await task.value
        inFlight[key] = nil
        let kept = if case .keep = outcome { true } else { false }
        recent[key] = (outcome, now + (kept ? Self.retryAfterFailure : 60))
        return outcome
    }

    /// Refresh tokens are secrets: they are only held hashed here.
    private static func key(_ token: String) -> String {
        SHA256.hash(data: Array(token.utf8)).prefix(16).map { String($0, radix: 16) }.joined()
    }
}

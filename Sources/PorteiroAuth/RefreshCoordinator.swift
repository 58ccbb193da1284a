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
    /// race (never past the new token's own refresh time: an IdP that hands back the same refresh
    /// token would otherwise have an expired access token served from here), `retryAfterFailure`
    /// for a failed attempt.
    private var recent: [String: (outcome: Outcome, until: Int64)] = [:]
    /// `session.refresh_before`, in seconds.
    private let margin: Int64
    private let metrics: GatewayMetrics
    private let logger: Logger
    static let retryAfterFailure: Int64 = 5
    static let rememberRace: Int64 = 60

    init(margin: Int64, metrics: GatewayMetrics, logger: Logger) {
        self.margin = margin
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
        if let until = rememberedUntil(outcome, now: now) { recent[key] = (outcome, until) }
        return outcome
    }

    /// How long `outcome` may answer later requests that arrive with the same refresh token.
    private func rememberedUntil(_ outcome: Outcome, now: Int64) -> Int64? {
        switch outcome {
        case .keep:
            return now + Self.retryAfterFailure
        case .ended:
            return now + Self.rememberRace
        case .refreshed(let session, _):
            guard case .fresh(let due) = session.tokenState(now: now, margin: margin), due > now else { return nil }
            return min(now + Self.rememberRace, due)
        }
    }

    /// Refresh tokens are secrets: they are only held hashed here.
    private static func key(_ token: String) -> String {
        SHA256.hash(data: Array(token.utf8)).prefix(16).map { String($0, radix: 16) }.joined()
    }
}

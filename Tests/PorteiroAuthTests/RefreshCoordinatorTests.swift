import Logging
import NIOConcurrencyHelpers
@testable import PorteiroAuth
import PorteiroMetrics
import PorteiroSessions
import Testing

func session(refreshToken: String = "r1") -> Session {
    Session(subject: "s", user: "maria", accessToken: "a1", refreshToken: refreshToken, createdAt: 0, expiresAt: 10_000)
}

@Suite struct RefreshCoordinatorTests {
    @Test func concurrentRequestsOfOneSessionRefreshOnce() async {
        let metrics = GatewayMetrics()
        let coordinator = RefreshCoordinator(margin: 60, metrics: metrics, logger: Logger(label: "test") { _ in SwiftLogNoOpLogHandler() })
        let calls = NIOLockedValueBox(0)
        let outcomes = await withTaskGroup(of: String?.self) { group in
            for _ in 0..<20 {
                group.addTask {
                    let outcome = await coordinator.refresh(session(), now: 100) { old in
                        calls.withLockedValue { $0 += 1 }
                        try await Task.sleep(for: .milliseconds(50))
                        var new = old
                        new.accessToken = "a2"
                        return (new, "cookie-a2")
                    }
                    if case .refreshed(let new, _) = outcome { return new.accessToken }
                    return nil
                }
            }
            return await group.reduce(into: [String?]()) { $0.append($1) }
        }
        #expect(calls.withLockedValue { $0 } == 1)
        #expect(outcomes.allSatisfy { $0 == "a2" })
        #expect(String(decoding: metrics.exposition(), as: UTF8.self).contains("porteiro_token_refreshes_total 1\n"))
    }

    @Test func aLateRequestWithTheRotatedTokenGetsTheWinnersResult() async {
        let coordinator = RefreshCoordinator(margin: 60, metrics: GatewayMetrics(), logger: Logger(label: "test") { _ in SwiftLogNoOpLogHandler() })
        _ = await coordinator.refresh(session(), now: 100) { old in
            var new = old
            new.accessToken = "a2"
            return (new, "cookie-a2")
        }
        let late = await coordinator.refresh(session(), now: 130) { _ in
            throw ProviderClient.Failure.refused(status: 400, error: "invalid_grant", description: nil)
        }
        guard case .refreshed(let new, _) = late else { Issue.record("expected the earlier result, got \(late)"); return }
        #expect(new.accessToken == "a2")
    }

    @Test func aRefusedRefreshEndsTheSessionAndAnUnreachableIdPKeepsIt() async {
        let coordinator = RefreshCoordinator(margin: 60, metrics: GatewayMetrics(), logger: Logger(label: "test") { _ in SwiftLogNoOpLogHandler() })
        let refused = await coordinator.refresh(session(refreshToken: "x"), now: 100) { _ in
            throw ProviderClient.Failure.refused(status: 400, error: "invalid_grant", description: nil)
        }
        guard case .ended = refused else { Issue.record("expected .ended, got \(refused)"); return }
        let down = await coordinator.refresh(session(refreshToken: "y"), now: 100) { _ in
            throw ProviderClient.Failure.unreachable("connection refused")
        }
        guard case .keep(let kept) = down else { Issue.record("expected .keep, got \(down)"); return }
        #expect(kept.accessToken == "a1")
    }

    /// A failing IdP is a fault, not a verdict: the user stays signed in, and the next attempt
    /// waits a few seconds instead of hitting the IdP with every request.
    @Test func anIdPAnswering500KeepsTheSessionAndIsRetriedAfterAFewSeconds() async {
        let coordinator = RefreshCoordinator(margin: 60, metrics: GatewayMetrics(), logger: Logger(label: "test") { _ in SwiftLogNoOpLogHandler() })
        let calls = NIOLockedValueBox(0)
        let failing: @Sendable (Session) async throws -> (Session, String) = { _ in
            calls.withLockedValue { $0 += 1 }
            throw ProviderClient.Failure.refused(status: 500, error: "http_500", description: nil)
        }
        let first = await coordinator.refresh(session(refreshToken: "z"), now: 100, using: failing)
        guard case .keep = first else { Issue.record("expected .keep, got \(first)"); return }
        _ = await coordinator.refresh(session(refreshToken: "z"), now: 104, using: failing)
        #expect(calls.withLockedValue { $0 } == 1, "within the retry delay the kept result is reused")
        let recovered = await coordinator.refresh(session(refreshToken: "z"), now: 100 + RefreshCoordinator.retryAfterFailure) { _ in
            var refreshed = session(refreshToken: "z2")
            refreshed.accessToken = "a2"
            return (refreshed, "cookie-a2")
        }
        guard case .refreshed(let new, _) = recovered else { Issue.record("expected .refreshed, got \(recovered)"); return }
        #expect(new.accessToken == "a2")
    }

    /// With a session store, a refresh whose row is gone (signed out on another replica) ends the
    /// session instead of bringing it back.
    @Test func aSessionSignedOutElsewhereEndsInsteadOfRefreshing() async {
        let coordinator = RefreshCoordinator(margin: 60, metrics: GatewayMetrics(), logger: Logger(label: "test") { _ in SwiftLogNoOpLogHandler() })
        let gone = await coordinator.refresh(session(refreshToken: "g"), now: 100) { _ in throw SessionGone() }
        guard case .ended = gone else { Issue.record("expected .ended, got \(gone)"); return }
    }

    /// The finding: a provider whose tokens live 5 s and which returns no new refresh token. With
    /// the shipped 60 s margin the remembered result (keyed by that same refresh token) used to be
    /// served for 60 s — 55 s past its token's expiry. It is never served once its token is due.
    @Test func aRememberedResultIsNeverServedOnceItsTokenIsDue() async {
        let coordinator = RefreshCoordinator(margin: 60, metrics: GatewayMetrics(), logger: Logger(label: "test") { _ in SwiftLogNoOpLogHandler() })
        let calls = NIOLockedValueBox(0)
        let sameRefreshToken: @Sendable (Session) async throws -> (Session, String) = { old in
            let count = calls.withLockedValue { $0 += 1; return $0 }
            var new = old
            new.accessToken = "a\(count + 1)"
            new.accessTokenIssuedAt = 100 + Int64(count - 1) * 7
            new.accessTokenExpiresAt = new.accessTokenIssuedAt + 5
            return (new, "cookie-\(count)")
        }
        let first = await coordinator.refresh(session(), now: 100, using: sameRefreshToken)
        guard case .refreshed(let fresh, _) = first else { Issue.record("expected a refresh, got \(first)"); return }
        #expect(fresh.tokenState(now: 101, margin: 60) == .fresh(until: 103), "half the 5 s lifetime, not the 60 s margin")
        let shared = await coordinator.refresh(session(), now: 101, using: sameRefreshToken)
        guard case .refreshed(let same, _) = shared else { Issue.record("expected the shared result"); return }
        #expect(same.accessToken == fresh.accessToken && calls.withLockedValue { $0 } == 1, "a late racer shares the result")
        let later = await coordinator.refresh(session(), now: 107, using: sameRefreshToken)
        guard case .refreshed(let renewed, _) = later else { Issue.record("expected a new refresh, got \(later)"); return }
        #expect(renewed.accessToken != fresh.accessToken, "past its due time the remembered token is not served again")
        #expect(calls.withLockedValue { $0 } == 2)
    }
}

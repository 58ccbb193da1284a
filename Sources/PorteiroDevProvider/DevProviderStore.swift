import NIOConcurrencyHelpers

/// What the provider remembers between requests: issued codes (single use, one minute), refresh
/// tokens (rotated at each use; a used one is refused) and browser sessions (its own cookie, so a
/// second login skips the form until logout).
final class DevProviderStore: Sendable {
    struct Grant: Sendable {
        var clientID: String
        var username: String
        var sid: String
        var scope: String
        var authTime: Int
    }

    struct PendingCode: Sendable {
        var grant: Grant
        var redirectURI: String
        var codeChallenge: String
        var nonce: String?
        var expiresAt: Int
    }

    struct RefreshGrant: Sendable {
        var grant: Grant
        var expiresAt: Int
        var used = false
    }

    struct BrowserSession: Sendable {
        var username: String
        var authTime: Int
    }

    private struct State {
        var codes: [String: PendingCode] = [:]
        var refreshTokens: [String: RefreshGrant] = [:]
        var sessions: [String: BrowserSession] = [:]
    }

    private let state = NIOLockedValueBox(State())

    func addCode(_ code: String, _ pending: PendingCode) {
        state.withLockedValue { $0.codes[code] = pending }
    }

    /// The code's grant, once: a second redemption finds nothing.
    func redeemCode(_ code: String, now: Int) -> PendingCode? {
        state.withLockedValue { state in
            guard let pending = state.codes.removeValue(forKey: code), pending.expiresAt > now else { return nil }
            return pending
        }
    }

    func addRefreshToken(_ token: String, _ grant: RefreshGrant) {
        state.withLockedValue { $0.refreshTokens[token] = grant }
    }

    /// The token's grant, marking it used when tokens rotate; nil when unknown, expired, used or
    /// ended by logout.
    func useRefreshToken(_ token: String, now: Int, rotating: Bool) -> Grant? {
        state.withLockedValue { state in
            state.refreshTokens = state.refreshTokens.filter { $0.value.expiresAt > now }
            guard var refresh = state.refreshTokens[token], !refresh.used, state.sessions[refresh.grant.sid] != nil else { return nil }
            refresh.used = rotating
            state.refreshTokens[token] = refresh
            return refresh.grant
        }
    }

    func startSession(_ sid: String, _ session: BrowserSession) {
        state.withLockedValue { $0.sessions[sid] = session }
    }

    func session(_ sid: String) -> BrowserSession? {
        state.withLockedValue { $0.sessions[sid] }
    }

    /// Logout: the browser session and every refresh token issued under it end.
    func endSession(_ sid: String) {
        state.withLockedValue { state in
            state.sessions[sid] = nil
            state.refreshTokens = state.refreshTokens.filter { $0.value.grant.sid != sid }
        }
    }
}

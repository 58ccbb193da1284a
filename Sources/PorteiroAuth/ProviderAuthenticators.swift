import NIOHTTP1
public import PorteiroConfig
import PorteiroOIDC
public import PorteiroProxy
import PorteiroRouting

/// Several providers (`providers:`) behind the one seam the proxy knows: each provider keeps its
/// own `CookieAuthenticator` — its own cookie, seal, keys, refreshes and bearer cache — and this
/// only picks which one a request is for. A session at one provider is never a session at another:
/// the cookies differ, and each seal is bound to its provider's issuer and client id.
///
/// What decides: the route's provider for sessions and logins (`AuthRequest.provider`,
/// `PendingSession.provider`); the token's `iss` among the route's providers for bearer tokens
/// and back-channel logouts; the redirect URI for the callback (each provider has its own).
public final class ProviderAuthenticators: GatewayAuthenticator {
    let providers: [CookieAuthenticator]

    /// `providers`: one per configured provider, in `providers:` order (index = `Route.provider`).
    public init(_ providers: [CookieAuthenticator]) {
        precondition(!providers.isEmpty && providers.indices.allSatisfy { providers[$0].index == $0 })
        self.providers = providers
    }

    public var isReady: Bool { providers.allSatisfy(\.isReady) }

    public var notReady: [String] { providers.flatMap(\.notReady) }

    public var revocationGeneration: UInt64 {
        providers.reduce(0) { $0 &+ $1.revocationGeneration }
    }

    /// The authenticator for `index`; nil (anonymous, refused) for one that does not exist.
    private func at(_ index: Int) -> CookieAuthenticator? {
        providers.indices.contains(index) ? providers[index] : nil
    }

    public func authenticate(_ request: AuthRequest) -> Authentication {
        at(request.provider)?.authenticate(request) ?? .anonymous(clearCookies: [])
    }

    public func identity(of pending: PendingSession) -> SignedInUser? {
        at(pending.provider)?.identity(of: pending)
    }

    public func resolve(_ pending: PendingSession, request: AuthRequest) async -> Authentication {
        await at(pending.provider)?.resolve(pending, request: request) ?? .anonymous(clearCookies: [])
    }

    public func startLogin(_ request: AuthRequest, returnTo: String?) -> LocalResponse {
        (at(request.provider) ?? providers[0]).startLogin(request, returnTo: returnTo)
    }

    public func cachedBearer(_ token: String, audiences: Set<String>, providers accepted: [Int], now: Int64) -> SignedInUser? {
        issuer(of: token, among: accepted)?.cachedBearer(token, audiences: audiences, providers: accepted, now: now)
    }

    public func verifyBearer(_ token: String, audiences: Set<String>, providers accepted: [Int], now: Int64) async -> SignedInUser? {
        await issuer(of: token, among: accepted)?.verifyBearer(token, audiences: audiences, providers: accepted, now: now)
    }

    /// The provider among `accepted` whose issuer the token names (read unverified, only to
    /// choose; that provider's verifier checks everything). Nil: no accepted provider issued it.
    private func issuer(of token: String, among accepted: [Int]) -> CookieAuthenticator? {
        guard let issuer = IDTokenClaims.unverified(token)?.issuer else { return nil }
        return accepted.lazy.compactMap(at).first { $0.provider.issuer == issuer }
    }

    public func cachedExchangedToken(for user: SignedInUser, _ exchange: RouteConfig.TokenExchange, now: Int64) -> String? {
        at(user.provider)?.cachedExchangedToken(for: user, exchange, now: now)
    }

    public func exchangeToken(for user: SignedInUser, _ exchange: RouteConfig.TokenExchange, now: Int64) async
        -> Result<String, TokenExchangeRefused>
    {
        await at(user.provider)?.exchangeToken(for: user, exchange, now: now)
            ?? .failure(TokenExchangeRefused(reason: "no provider \(user.provider)"))
    }

    public func handle(_ endpoint: AuthEndpoint, _ request: AuthRequest) async -> LocalResponse {
        switch endpoint {
        case .start:
            return await (at(request.provider) ?? providers[0]).handle(.start, request)
        case .callback:
            // The provider of the redirect URI the response came to (`/oauth2/callback/<name>`).
            return await (at(request.provider) ?? providers[0]).handle(.callback, request)
        case .signOut:
            return await signOutEverywhere(request)
        }
    }

    /// Ends every session the browser holds here, and visits the end-session endpoint of the
    /// provider of the request's route (`rd`, `provider=`) when it held a session, else of the first
    /// that did.
    private func signOutEverywhere(_ request: AuthRequest) async -> LocalResponse {
        let first = providers[0]
        let returnTo = FormEncoding.decode(request.target.query.dropFirst())["rd"]
        guard request.isSameOrigin(first.publicURL) else {
            return await first.handle(.signOut, request)  // the confirmation page; nothing ends
        }
        var ended: [CookieAuthenticator.LocalSignOut] = []
        for provider in providers { ended.append(await provider.endLocalSession(request.at(provider: provider.index))) }
        let chosen = ended.indices.contains(request.provider) && ended[request.provider].session != nil
            ? request.provider : ended.firstIndex { $0.session != nil } ?? (at(request.provider) == nil ? 0 : request.provider)
        let location = providers[chosen].endSessionLocation(returnTo: returnTo, idToken: ended[chosen].session?.idToken)
        return first.signOutAnswer(location: location, clearing: ended.flatMap(\.clearCookies))
    }

    /// Handed to the provider whose issuer (and, when two share one, client id) the logout token
    /// names; refused when none does.
    public func backchannelLogout(form body: String, request: AuthRequest) async -> LocalResponse {
        let token = FormEncoding.decode(Substring(body))["logout_token"] ?? ""
        let claims = IDTokenClaims.unverified(token)
        let candidates = providers.filter { $0.provider.issuer == claims?.issuer }
        let owner = candidates.count > 1
            ? candidates.first { candidate in claims?.audiences.contains(candidate.provider.clientID) == true } : candidates.first
        // A token no provider issued: any provider refuses it (its verifier checks `iss`).
        return await (owner ?? providers[0]).backchannelLogout(form: body, request: request)
    }
}

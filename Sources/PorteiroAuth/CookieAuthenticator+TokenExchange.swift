public import PorteiroConfig
import PorteiroOIDC
public import PorteiroProxy

/// `token_exchange` (RFC 8693): the session's access token traded at the provider's token endpoint
/// for one meant for the route's app alone, so a token leaked from one app opens no other.
extension CookieAuthenticator {
    static let accessTokenType = "urn:ietf:params:oauth:token-type:access_token"

    public func cachedExchangedToken(for user: SignedInUser, _ exchange: RouteConfig.TokenExchange, now: Int64) -> String? {
        exchanges.cached(for: user, exchange, now: now)
    }

    public func exchangeToken(for user: SignedInUser, _ exchange: RouteConfig.TokenExchange, now: Int64) async
        -> Result<String, TokenExchangeRefused>
    {
        await exchanges.exchange(for: user, exchange, now: now) { [self] in
            guard let metadata = directory.metadata else { return .failure(TokenExchangeRefused(reason: "provider not loaded")) }
            let tokens: TokenResponse
            do {
                tokens = try await client.exchange(
                    subjectToken: user.accessToken, audience: exchange.audience, scope: exchange.scope, metadata: metadata)
            } catch {
                return .failure(TokenExchangeRefused(reason: "\(error)"))
            }
            return Self.issued(tokens, for: user.accessToken, now: clock())
        }
    }

    /// The longest exchanged token used: many app servers refuse a request whose headers pass
    /// 8–16 KiB, and a token that cannot reach the app is a refusal better said here.
    static let maxTokenBytes = 16 * 1024

    /// Fail closed on what the app would get: only an access token, unexpired, that can be
    /// written into a header as it is, and not the session's own (`subject`) handed back.
    static func issued(_ tokens: TokenResponse, for subject: String, now: Int64) -> Result<TokenExchanges.Issued, TokenExchangeRefused> {
        if let type = tokens.issuedTokenType, type != accessTokenType {
            return .failure(TokenExchangeRefused(reason: "issued_token_type \(type), not an access token"))
        }
        guard !tokens.accessToken.isEmpty, tokens.accessToken.utf8.count <= maxTokenBytes,
              tokens.accessToken.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7f })
        else {
            return .failure(TokenExchangeRefused(reason: "the issued token is empty, over 16 KiB or not printable ASCII"))
        }
        guard tokens.accessToken != subject else {
            return .failure(TokenExchangeRefused(reason: "the provider handed back the session's own token"))
        }
        let expiresAt = tokens.accessTokenExpiresAt(now: now)
        if expiresAt != 0, expiresAt <= now {
            return .failure(TokenExchangeRefused(reason: "the issued token is expired on arrival"))
        }
        return .success((tokens.accessToken, expiresAt))
    }
}

public import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
public import PorteiroConfig
public import PorteiroOIDC
public import PorteiroMetrics
import PorteiroRouting

/// The calls Porteiro makes to the IdP, over AsyncHTTPClient (rare calls: discovery, JWKS, token,
/// userinfo). Each has the configured timeout and a 1 MiB answer limit.
public struct ProviderClient: Sendable {
    public enum Failure: Error, CustomStringConvertible {
        /// The IdP answered with an OAuth error (`invalid_grant`, …).
        case refused(status: UInt, error: String, description: String?)
        case badResponse(String)
        case unreachable(String)

        public var description: String {
            switch self {
            case .refused(let status, let error, let description): "IdP refused (\(status) \(error)): \(description ?? "")"
            case .badResponse(let reason): "unexpected IdP response: \(reason)"
            case .unreachable(let reason): "IdP unreachable: \(reason)"
            }
        }
    }

    let http: HTTPClient
    let provider: ProviderConfig
    let timeout: TimeAmount
    let metrics: GatewayMetrics

    public init(http: HTTPClient = .shared, provider: ProviderConfig, metrics: GatewayMetrics) {
        self.http = http
        self.provider = provider
        self.timeout = TimeAmount(provider.timeout)
        self.metrics = metrics
    }

    public func discover() async throws(Failure) -> ProviderMetadata {
        let issuer = provider.issuer.hasSuffix("/") ? String(provider.issuer.dropLast()) : provider.issuer
        let metadata: ProviderMetadata = try await getJSON(issuer + "/.well-known/openid-configuration", .discovery)
        guard metadata.issuer == provider.issuer else {
            throw .badResponse("discovery names issuer \(metadata.issuer), configured \(provider.issuer)")
        }
        return metadata.applying(provider.endpoints)
    }

    public func keys(at uri: String) async throws(Failure) -> ProviderKeys {
        let body = try await send(HTTPClientRequest(url: uri), .jwks)
        do {
            return try await ProviderKeys.parse(jwksJSON: String(buffer: body))
        } catch {
            throw .badResponse("JWKS: \(error)")
        }
    }

    /// Authorization code → tokens, with the PKCE verifier.
    public func exchange(code: String, verifier: String, redirectURI: String, metadata: ProviderMetadata) async throws(Failure)
        -> TokenResponse
    {
        try await token(
            [("grant_type", "authorization_code"), ("code", code), ("redirect_uri", redirectURI), ("code_verifier", verifier)],
            endpoint: metadata.tokenEndpoint)
    }

    public func refresh(_ refreshToken: String, metadata: ProviderMetadata) async throws(Failure) -> TokenResponse {
        try await token([("grant_type", "refresh_token"), ("refresh_token", refreshToken)], endpoint: metadata.tokenEndpoint)
    }

    /// RFC 8693 token exchange: `subjectToken` (an access token) for one meant for `audience`.
    public func exchange(subjectToken: String, audience: String, scope: String?, metadata: ProviderMetadata) async throws(Failure)
        -> TokenResponse
    {
        var form = [
            ("grant_type", "urn:ietf:params:oauth:grant-type:token-exchange"), ("subject_token", subjectToken),
            ("subject_token_type", "urn:ietf:params:oauth:token-type:access_token"),
            ("requested_token_type", "urn:ietf:params:oauth:token-type:access_token"), ("audience", audience),
        ]
        if let scope { form.append(("scope", scope)) }
        return try await token(form, endpoint: metadata.tokenEndpoint)
    }

    public func userinfo(accessToken: String, endpoint: String) async throws(Failure) -> ClaimValue {
        var request = HTTPClientRequest(url: endpoint)
        request.headers.add(name: "Authorization", value: "Bearer \(accessToken)")
        return try decode(ClaimValue.self, from: try await send(request, .userinfo))
    }

    /// Client authentication per RFC 6749 §2.3.1: a public client names itself in the body; a
    /// confidential one uses Basic (form-encoded id and secret) or the body, as configured.
    private func token(_ form: [(String, String)], endpoint: String) async throws(Failure) -> TokenResponse {
        var form = form
        var request = HTTPClientRequest(url: endpoint)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
        request.headers.add(name: "Accept", value: "application/json")
        switch (provider.clientSecret, provider.tokenEndpointAuth) {
        case (nil, _):
            form.append(("client_id", provider.clientID))
        case (let secret?, .clientSecretBasic):
            let pair = FormEncoding.escape(provider.clientID) + ":" + FormEncoding.escape(secret)
            request.headers.add(name: "Authorization", value: "Basic " + Data(pair.utf8).base64EncodedString())
        case (let secret?, .clientSecretPost):
            form += [("client_id", provider.clientID), ("client_secret", secret)]
        }
        request.body = .bytes(ByteBuffer(string: FormEncoding.encode(form)))
        let body = try await send(request, .token)
        // An answer that says `error` is a refusal, whatever else it carries (a token beside it
        // is not one the IdP stands behind).
        if let said = try? JSONDecoder().decode(OAuthError.self, from: Data(body.readableBytesView)), let error = said.error {
            throw .refused(status: 200, error: error, description: said.description)
        }
        return try decode(TokenResponse.self, from: body)
    }

    private struct OAuthError: Decodable {
        var error: String?
        var description: String?

        enum CodingKeys: String, CodingKey {
            case error
            case description = "error_description"
        }
    }

    private func getJSON<T: Decodable>(_ url: String, _ endpoint: IdPEndpoint) async throws(Failure) -> T {
        var request = HTTPClientRequest(url: url)
        request.headers.add(name: "Accept", value: "application/json")
        return try decode(T.self, from: try await send(request, endpoint))
    }

    private func send(_ request: HTTPClientRequest, _ endpoint: IdPEndpoint) async throws(Failure) -> ByteBuffer {
        let response: HTTPClientResponse
        let body: ByteBuffer
        let start = NIODeadline.now()
        defer { metrics.idpRequest(endpoint, nanoseconds: (NIODeadline.now() - start).nanoseconds) }
        do {
            response = try await http.execute(request, timeout: timeout)
            body = try await response.body.collect(upTo: 1 << 20)
        } catch {
            throw .unreachable("\(request.url): \(error)")
        }
        guard (200..<300).contains(response.status.code) else {
            let oauth = try? JSONDecoder().decode([String: String].self, from: Data(body.readableBytesView))
            throw .refused(
                status: response.status.code, error: oauth?["error"] ?? "http_\(response.status.code)",
                description: oauth?["error_description"])
        }
        return body
    }

    private func decode<T: Decodable>(_ type: T.Type, from body: ByteBuffer) throws(Failure) -> T {
        do {
            return try JSONDecoder().decode(T.self, from: Data(body.readableBytesView))
        } catch {
            throw .badResponse("\(T.self): \(error)")
        }
    }
}

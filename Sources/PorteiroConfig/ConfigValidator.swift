import Foundation

/// Step two of loading: checks that the decoded values make sense, alone and together.
///
/// Pure: it reads the model and returns every problem; it builds and changes nothing, so it can run
/// on a candidate configuration (a reload, `check-config`) without touching the running one.
public enum ConfigValidator {
    public static func problems(in config: GatewayConfig, lines: [String: Int] = [:]) -> [ConfigProblem] {
        var problems: [ConfigProblem] = []
        func report(_ path: String, _ message: String) {
            problems.append(ConfigProblem(path: path, line: lines[path], message: message))
        }

        if case .failure(let reason) = ListenAddress.parse(config.server.listen) {
            report("server.listen", reason.message)
        }
        if let url = config.server.publicURL, PublicURL.parse(url) == nil {
            report("server.public_url", "\"\(url)\" is not an absolute http(s) URL without path, query or fragment")
        }
        for (index, proxy) in config.server.trustedProxies.enumerated() where IPRange(proxy) == nil {
            report("server.trusted_proxies[\(index)]", "\"\(proxy)\" is not an IP address or CIDR range")
        }
        for (index, entry) in config.server.allowedRedirectHosts.enumerated() {
            let host = splitHostPort(Substring(entry), defaultPort: 443)?.host ?? ""
            if HostPattern(host.hasPrefix(".") ? "*" + host : host) == nil {
                report("server.allowed_redirect_hosts[\(index)]", "\"\(entry)\" is not a host name or .suffix, with an optional :port")
            }
        }
        if config.upstream.connectTimeout <= .zero { report("upstream.connect_timeout", "must be longer than 0") }
        if let path = config.server.metricsPath, !path.hasPrefix("/") || path.hasPrefix("/oauth2/") {
            report("server.metrics_path", "\"\(path)\" must start with / and not be under /oauth2/")
        }
        if let address = config.server.metricsListen, case .failure(let reason) = ListenAddress.parse(address) {
            report("server.metrics_listen", reason.message)
        }
        if let address = config.server.metricsListen, address == config.server.listen {
            report("server.metrics_listen", "must differ from server.listen")
        }
        if let tls = config.server.tls {
            for (key, file) in [("certificate_file", tls.certificateFile), ("key_file", tls.keyFile)]
            where !FileManager.default.isReadableFile(atPath: file) {
                report("server.tls.\(key)", "cannot read \"\(file)\"")
            }
        }
        if let file = config.upstream.caFile, !FileManager.default.isReadableFile(atPath: file) {
            report("upstream.ca_file", "cannot read \"\(file)\"")
        }

        var seen: [String: Int] = [:]
        for (index, route) in config.routes.enumerated() {
            let path = "routes[\(index)]"
            if case .failure(let reason) = UpstreamAddress.parse(route.upstream) {
                report("\(path).upstream", reason.message)
            }
            if !route.path.hasPrefix("/") {
                report("\(path).path", "\"\(route.path)\" must start with /")
            } else if route.path.contains(where: { $0 == "?" || $0 == "#" || $0 == "%" || $0 == "\\" || $0.isWhitespace }) {
                report("\(path).path", "\"\(route.path)\" must be a plain path prefix (no ?, #, %, \\ or spaces)")
            }
            if let host = route.host, HostPattern(host) == nil {
                report("\(path).host", "\"\(host)\" is not a host name or *.suffix pattern")
            }
            if route.timeout <= .zero { report("\(path).timeout", "must be longer than 0") }
            let enforcing = route.auth == .required || route.auth == .bearer
            if !enforcing, route.allow != nil {
                report("\(path).allow", "applies only to routes with auth: required or bearer")
            }
            if let allow = route.allow {
                let lists = [("groups", allow.groups), ("roles", allow.roles), ("emails", allow.emails), ("email_domains", allow.emailDomains)]
                    + allow.claims.sorted { $0.key < $1.key }.map { ("claims.\($0.key)", $0.value) }
                for (key, values) in lists {
                    if key.hasPrefix("claims."), values.isEmpty {
                        report("\(path).allow.\(key)", "lists no value: it names no one")
                    }
                    for (entryIndex, value) in values.enumerated()
                    where value.allSatisfy({ $0.isWhitespace || (key == "email_domains" && $0 == "@") }) {
                        report("\(path).allow.\(key)[\(entryIndex)]", "is empty (a variable that was not set?): it names no one")
                    }
                }
            }
            if let allow = route.allow, allow.groups.isEmpty, allow.roles.isEmpty, allow.emails.isEmpty,
                allow.emailDomains.isEmpty, allow.claims.isEmpty
            {
                report("\(path).allow", "names no one (an empty list, or a variable that was not set): list at least one rule, or remove allow to admit any signed-in user")
            }
            if !enforcing, !route.skipAuth.isEmpty {
                report("\(path).skip_auth", "applies only to routes with auth: required or bearer")
            }
            if route.auth == .bearer, route.audiences.isEmpty {
                report("\(path).audiences", "is required for auth: bearer (the aud values its access tokens carry)")
            }
            if route.auth == .bearer, route.passClientAuthorization {
                report("\(path).pass_client_authorization", "does not apply to auth: bearer (the verified token is sent with pass_access_token)")
            }
            for (entryIndex, audience) in route.audiences.enumerated() where audience.allSatisfy(\.isWhitespace) {
                report("\(path).audiences[\(entryIndex)]", "is empty (a variable that was not set?): a token with an empty aud would pass")
            }
            if route.auth != .bearer, !route.audiences.isEmpty || route.allowSession {
                report("\(path).audiences", "audiences and allow_session apply only to auth: bearer")
            }
            for (originIndex, origin) in route.corsOrigins.enumerated() where PublicURL.parse(origin) == nil {
                report("\(path).cors_origins[\(originIndex)]", "\"\(origin)\" is not an origin like https://app.example.org")
            }
            for (ruleIndex, rule) in route.skipAuth.enumerated() where !rule.path.hasPrefix("/") {
                report("\(path).skip_auth[\(ruleIndex)].path", "\"\(rule.path)\" must start with /")
            }
            for method in route.methods ?? [] where !isToken(method) {
                report("\(path).methods", "\"\(method)\" is not an HTTP method")
            }
            for name in route.identityHeaders.all where !isToken(name) {
                report("\(path).identity_headers", "\"\(name)\" is not a valid header name")
            }
            for name in route.identityHeaders.all where isReservedHeader(name) {
                report("\(path).identity_headers", "\"\(name)\" is a header the request itself needs, not a name for the identity")
            }
            routeIdentityProblems(route, path: path, config: config, report: report)
            let key = "\(route.host?.lowercased() ?? "*") \(route.path)"
            if let first = seen[key] {
                report(path, "repeats host and path of routes[\(first)]; only one can ever match")
            } else {
                seen[key] = index
            }
        }

        problems += sharedStateProblems(config, lines: lines)
        let loginRoutes = config.routes.indices.filter { config.routes[$0].auth != .none }
        if let first = loginRoutes.first {
            problems += loginProblems(config, firstRoute: first, report: report)
        } else {
            if let session = config.session { problems += sessionProblems(session, lines: lines) }
            problems += everyProviderProblems(config, lines: lines)
        }
        return problems
    }

    /// Each provider's own problems under its key (`provider.…` or `providers.<name>.…`), and names
    /// that cannot name a cookie.
    private static func everyProviderProblems(_ config: GatewayConfig, lines: [String: Int]) -> [ConfigProblem] {
        let single = config.providers.count == 1 && config.providers[0].name == NamedProvider.defaultName
        return config.providers.flatMap { named -> [ConfigProblem] in
            let path = single ? "provider" : "providers.\(named.name)"
            var problems = providerProblems(named.config, path: path, lines: lines)
            // The name becomes part of a cookie name (`_porteiro_<name>`) and of log lines.
            if !single, named.name.first?.isLetter != true || !named.name.allSatisfy({ ($0.isASCII && ($0.isLowercase || $0.isNumber)) || $0 == "-" })
                || named.name == "state" {
                problems.append(ConfigProblem(
                    path: path, line: lines[path], message: "is not a provider name: lowercase letters, digits and -, starting with a letter (not \"state\")"))
            }
            return problems
        }
    }

    private static func loginProblems(
        _ config: GatewayConfig, firstRoute: Int, report: (String, String) -> Void
    ) -> [ConfigProblem] {
        var problems: [ConfigProblem] = []
        let reason = "is required because routes[\(firstRoute)] has auth: \(config.routes[firstRoute].auth.rawValue)"
        if config.server.publicURL == nil { report("server.public_url", reason) }
        if config.providers.isEmpty {
            report("provider", reason)
        } else {
            problems += everyProviderProblems(config, lines: [:])
        }
        if let session = config.session {
            problems += sessionProblems(session, lines: [:])
            if session.cookieHostPrefix == true, config.server.publicURL.flatMap({ PublicURL.parse($0) })?.scheme != .https {
                report("session.cookie_host_prefix", "__Host- cookies need an https server.public_url")
            }
        } else {
            report("session", reason)
        }
        return problems
    }

    /// The URL is never quoted: it holds the database password.
    static func sharedStateProblems(_ config: GatewayConfig, lines: [String: Int]) -> [ConfigProblem] {
        var problems: [ConfigProblem] = []
        func report(_ path: String, _ message: String) {
            problems.append(ConfigProblem(path: path, line: lines[path], message: message))
        }
        if let url = config.database.url, !(url.hasPrefix("postgres://") || url.hasPrefix("postgresql://")) {
            report("database.url", "is not a postgres:// URL (postgres://user:password@host:5432/database)")
        }
        if config.revocation.store == .postgres, config.database.url == nil {
            report("database.url", "is required because revocation.store is postgres")
        }
        if config.session?.store == .postgres, config.database.url == nil {
            report("database.url", "is required because session.store is postgres")
        }
        if config.revocation.pollInterval <= .zero { report("revocation.poll_interval", "must be longer than 0") }
        if config.revocation.maxStaleness <= config.revocation.pollInterval {
            report("revocation.max_staleness", "must be longer than revocation.poll_interval")
        }
        return problems
    }

    static func providerProblems(_ provider: ProviderConfig, path base: String = "provider", lines: [String: Int]) -> [ConfigProblem] {
        var problems: [ConfigProblem] = []
        func report(_ path: String, _ message: String) {
            problems.append(ConfigProblem(path: path, line: lines[path], message: message))
        }
        if !provider.issuer.isEmpty, PublicURL.parse(provider.issuer, allowPath: true) == nil {
            report("\(base).issuer", "\"\(provider.issuer)\" is not an absolute http(s) URL")
        }
        if !provider.scopes.contains("openid") {
            report("\(base).scopes", "must include openid")
        }
        if provider.clientSecret?.isEmpty == true {
            report("\(base).client_secret", "is empty; remove the key for a public client")
        }
        let endpoints = [
            ("authorization", provider.endpoints.authorization), ("token", provider.endpoints.token),
            ("jwks", provider.endpoints.jwks), ("userinfo", provider.endpoints.userinfo),
            ("end_session", provider.endpoints.endSession),
        ]
        for case (let name, let url?) in endpoints where PublicURL.parse(url, allowPath: true) == nil {
            report("\(base).endpoints.\(name)", "\"\(url)\" is not an absolute http(s) URL")
        }
        if provider.timeout <= .zero { report("\(base).timeout", "must be longer than 0") }
        if provider.hmacIDTokens, (provider.clientSecret?.utf8.count ?? 0) < 32 {
            report("\(base).hmac_id_tokens", "needs a client_secret of at least 32 bytes: HMAC ID tokens are signed with it")
        }
        if provider.clockSkew < .zero { report("\(base).clock_skew", "must not be negative") }
        return problems
    }

    static func sessionProblems(_ session: SessionConfig, lines: [String: Int]) -> [ConfigProblem] {
        var problems: [ConfigProblem] = []
        func report(_ path: String, _ message: String) {
            problems.append(ConfigProblem(path: path, line: lines[path], message: message))
        }
        if !isToken(session.cookieName) {
            report("session.cookie_name", "\"\(session.cookieName)\" is not a valid cookie name")
        }
        if session.secrets.isEmpty {
            report("session.secrets", "needs at least one secret (generate one with `porteiro keygen`)")
        }
        for (index, secret) in session.secrets.enumerated() where SessionSecret.decode(secret) == nil {
            report("session.secrets[\(index)]", "is not base64 of at least 32 bytes (generate one with `porteiro keygen`)")
        }
        if session.lifetime <= .zero { report("session.lifetime", "must be longer than 0") }
        if session.refreshBefore < .zero { report("session.refresh_before", "must not be negative") }
        if let idle = session.idleTimeout {
            if idle < .seconds(1) {
                report("session.idle_timeout", "must be at least 1s (leave it out for no idle timeout)")
            } else if idle >= session.lifetime {
                report("session.idle_timeout", "must be shorter than session.lifetime, or it never ends a session")
            }
        }
        if session.cookieHostPrefix == true, session.cookieDomain != nil {
            report("session.cookie_host_prefix", "__Host- cookies cannot have a cookie_domain")
        }
        return problems
    }
}

/// Names that frame or address the request, or that Porteiro sets itself: `Host: maria` or a
/// second `Content-Length` would make the request mean something else to the app.
func isReservedHeader(_ name: String) -> Bool {
    ["host", "content-length", "transfer-encoding", "connection", "keep-alive", "upgrade", "te", "trailer", "cookie",
     "authorization", "expect", "forwarded", "x-forwarded-for", "x-real-ip", "x-forwarded-proto", "x-forwarded-host",
     "x-request-id", "http2-settings"].contains(name.lowercased().replacing("_", with: "-"))
}

/// An HTTP token (RFC 9110 §5.6.2): what method, header and cookie names are made of.
private let tokenCharacters = Set("!#$%&'*+-.^_`|~abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")

func isToken(_ text: String) -> Bool {
    !text.isEmpty && text.allSatisfy(tokenCharacters.contains)
}

/// Decodes a configured cookie secret: standard or URL-safe base64 of at least 32 random bytes.
public enum SessionSecret {
    public static func decode(_ text: String) -> [UInt8]? {
        var normalized = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while normalized.count % 4 != 0 { normalized += "=" }
        guard let data = Data(base64Encoded: normalized), data.count >= 32 else { return nil }
        return Array(data)
    }
}

/// An absolute `http(s)://host[:port]` URL, as `server.public_url` and `provider.issuer` take.
public struct PublicURL: Sendable, Equatable {
    public var scheme: UpstreamAddress.Scheme
    public var authority: String
    public var path: String

    public static func parse(_ text: String, allowPath: Bool = false) -> PublicURL? {
        guard case .success(let address) = UpstreamAddress.parse(text) else { return nil }
        if !allowPath, !address.basePath.isEmpty { return nil }
        return PublicURL(scheme: address.scheme, authority: address.hostHeader, path: address.basePath)
    }
}

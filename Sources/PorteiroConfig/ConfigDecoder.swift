internal import Yams

/// Step one of loading: YAML nodes → `GatewayConfig`, checking shapes and types only.
/// Whether the values make sense together is `ConfigValidator`'s job.
struct ConfigDecoder {
    var reader: ConfigReader

    mutating func decode(_ root: ConfigNode) -> GatewayConfig {
        var config = GatewayConfig()
        guard let entries = reader.mapping(root, keys: ConfigKeys.root) else { return config }
        if let node = entries["server"] { decodeServer(node, into: &config.server) }
        if let node = entries["upstream"] { decodeUpstream(node, into: &config.upstream) }
        if let node = entries["logging"] { decodeLogging(node, into: &config.logging) }
        if let node = entries["forward_auth"], let e = reader.mapping(node, keys: ConfigKeys.forwardAuth),
            let n = e["pass_access_token"], let v = reader.bool(n)
        {
            config.forwardAuth.passAccessToken = v
        }
        if let node = entries["provider"] { config.provider = decodeProvider(node) }
        if let node = entries["providers"] {
            if entries["provider"] != nil {
                reader.report(node, "and provider cannot both be set: use provider for one, providers for several")
            } else {
                config.providers = decodeProviders(node)
            }
        }
        if let node = entries["session"] { config.session = decodeSession(node) }
        if let node = entries["database"], let e = reader.mapping(node, keys: ConfigKeys.database) {
            config.database.url = reader.secret(e, key: "url")
        }
        if let node = entries["revocation"] { decodeRevocation(node, into: &config.revocation) }
        if let node = entries["routes"], let items = reader.sequence(node) {
            config.routes = items.compactMap { decodeRoute($0) }
        } else if entries["routes"] == nil {
            reader.report(path: "routes", line: nil, "is missing: list at least one route")
        }
        return config
    }

    private mutating func decodeServer(_ node: ConfigNode, into server: inout ServerConfig) {
        guard let e = reader.mapping(node, keys: ConfigKeys.server) else { return }
        if let n = e["listen"], let v = reader.string(n) { server.listen = v }
        if let n = e["public_url"], let v = reader.string(n) { server.publicURL = v }
        if let n = e["trusted_proxies"], let v = reader.strings(n) { server.trustedProxies = v }
        if let n = e["allowed_redirect_hosts"], let v = reader.strings(n) { server.allowedRedirectHosts = v }
        if let n = e["templates_dir"], let v = reader.string(n) {
            server.templatesDir = v
            server.errorPageTemplate = reader.file(n, path: v + "/error.html")
        }
        if let n = e["shutdown_grace"], let v = reader.duration(n) { server.shutdownGrace = v }
        if let n = e["idle_timeout"], let v = reader.duration(n) { server.idleTimeout = v }
        if let n = e["config_poll_interval"], let v = reader.duration(n) { server.configPollInterval = v }
        if let n = e["max_header_bytes"], let v = reader.int(n, in: 1_024...1_048_576) { server.maxHeaderBytes = v }
        if let n = e["max_header_count"], let v = reader.int(n, in: 8...1_000) { server.maxHeaderCount = v }
        if let n = e["threads"], let v = reader.int(n, in: 0...256) { server.threads = v }
        if let n = e["underscores_in_headers"], let v = reader.bool(n) { server.underscoresInHeaders = v }
        if let n = e["max_connections"], let v = reader.int(n, in: 0...10_000_000) { server.maxConnections = v }
        if let n = e["metrics_path"], let v = reader.string(n) { server.metricsPath = v }
        if let n = e["metrics_listen"], let v = reader.string(n) { server.metricsListen = v }
        if let n = e["tls"], let t = reader.mapping(n, keys: ConfigKeys.tls) {
            let certificate = required(t, "certificate_file", in: n)
            let key = required(t, "key_file", in: n)
            if let certificate, let key {
                var tls = TLSConfig(certificateFile: certificate, keyFile: key)
                if let n = t["http2"], let v = reader.bool(n) { tls.http2 = v }
                server.tls = tls
            }
        }
    }

    private mutating func decodeUpstream(_ node: ConfigNode, into pool: inout UpstreamPoolConfig) {
        guard let e = reader.mapping(node, keys: ConfigKeys.upstream) else { return }
        if let n = e["connect_timeout"], let v = reader.duration(n) { pool.connectTimeout = v }
        if let n = e["idle_timeout"], let v = reader.duration(n) { pool.idleTimeout = v }
        if let n = e["max_lifetime"], let v = reader.duration(n) { pool.maxLifetime = v }
        if let n = e["max_idle_per_upstream"], let v = reader.int(n, in: 0...10_000) { pool.maxIdlePerUpstream = v }
        if let n = e["ca_file"], let v = reader.string(n) { pool.caFile = v }
        if let n = e["insecure_skip_verify"], let v = reader.bool(n) { pool.insecureSkipVerify = v }
    }

    private mutating func decodeRevocation(_ node: ConfigNode, into revocation: inout RevocationConfig) {
        guard let e = reader.mapping(node, keys: ConfigKeys.revocation) else { return }
        if let n = e["store"], let v = reader.enumeration(n, as: RevocationConfig.Store.self) { revocation.store = v }
        if let n = e["poll_interval"], let v = reader.duration(n) { revocation.pollInterval = v }
        if let n = e["max_staleness"], let v = reader.duration(n) { revocation.maxStaleness = v }
    }

    private mutating func decodeLogging(_ node: ConfigNode, into logging: inout LoggingConfig) {
        guard let e = reader.mapping(node, keys: ConfigKeys.logging) else { return }
        if let n = e["level"], let v = reader.enumeration(n, as: LoggingConfig.Level.self) { logging.level = v }
        if let n = e["access_log"], let v = reader.bool(n) { logging.accessLog = v }
        if let n = e["format"], let v = reader.enumeration(n, as: LoggingConfig.Format.self) { logging.format = v }
    }

    /// `providers:` — name → provider, in the order written.
    private mutating func decodeProviders(_ node: ConfigNode) -> [NamedProvider] {
        reader.namedEntries(node, of: "provider names to providers").compactMap { entry in
            decodeProvider(entry.node).map { NamedProvider(name: entry.name, config: $0) }
        }
    }

    private mutating func decodeProvider(_ node: ConfigNode) -> ProviderConfig? {
        guard let e = reader.mapping(node, keys: ConfigKeys.provider) else { return nil }
        let issuer = required(e, "issuer", in: node)
        let clientID = required(e, "client_id", in: node)
        let secret = reader.secret(e, key: "client_secret")
        var p = ProviderConfig(issuer: issuer ?? "", clientID: clientID ?? "", clientSecret: secret)
        if let n = e["token_endpoint_auth_method"], let v = reader.enumeration(n, as: ProviderConfig.ClientAuthentication.self) {
            p.tokenEndpointAuth = v
        }
        if let n = e["scopes"], let v = reader.strings(n) { p.scopes = v }
        if let n = e["extra_auth_params"], let v = reader.stringMap(n) { p.extraAuthParameters = v }
        if let n = e["use_userinfo"], let v = reader.bool(n) { p.useUserinfo = v }
        if let n = e["require_verified_email"], let v = reader.bool(n) { p.requireVerifiedEmail = v }
        if let n = e["hmac_id_tokens"], let v = reader.bool(n) { p.hmacIDTokens = v }
        if let n = e["clock_skew"], let v = reader.duration(n) { p.clockSkew = v }
        if let n = e["timeout"], let v = reader.duration(n) { p.timeout = v }
        if let n = e["claims"], let c = reader.mapping(n, keys: ConfigKeys.claims) {
            if let n = c["user"], let v = reader.string(n) { p.claims.user = v }
            if let n = c["email"], let v = reader.string(n) { p.claims.email = v }
            if let n = c["groups"], let v = reader.string(n) { p.claims.groups = v }
            if let n = c["roles"], let v = reader.string(n) { p.claims.roles = v }
        }
        if let n = e["endpoints"], let c = reader.mapping(n, keys: ConfigKeys.endpoints) {
            if let n = c["authorization"], let v = reader.string(n) { p.endpoints.authorization = v }
            if let n = c["token"], let v = reader.string(n) { p.endpoints.token = v }
            if let n = c["jwks"], let v = reader.string(n) { p.endpoints.jwks = v }
            if let n = c["userinfo"], let v = reader.string(n) { p.endpoints.userinfo = v }
            if let n = c["end_session"], let v = reader.string(n) { p.endpoints.endSession = v }
        }
        return p
    }

    private mutating func decodeSession(_ node: ConfigNode) -> SessionConfig? {
        guard let e = reader.mapping(node, keys: ConfigKeys.session) else { return nil }
        var session = SessionConfig(secrets: reader.secretList(e, key: "secrets") ?? [])
        if let n = e["cookie_name"], let v = reader.string(n) { session.cookieName = v }
        if let n = e["lifetime"], let v = reader.duration(n) { session.lifetime = v }
        if let n = e["refresh_before"], let v = reader.duration(n) { session.refreshBefore = v }
        if let n = e["idle_timeout"], let v = reader.duration(n) { session.idleTimeout = v }
        if let n = e["store"], let v = reader.enumeration(n, as: SessionConfig.Store.self) { session.store = v }
        if let n = e["cookie_domain"], let v = reader.string(n) { session.cookieDomain = v }
        if let n = e["cookie_host_prefix"], let v = reader.bool(n) { session.cookieHostPrefix = v }
        return session
    }

    private mutating func decodeRoute(_ node: ConfigNode) -> RouteConfig? {
        guard let e = reader.mapping(node, keys: ConfigKeys.route) else { return nil }
        guard let upstream = required(e, "upstream", in: node) else { return nil }
        var route = RouteConfig(upstream: upstream)
        if let n = e["host"], let v = reader.string(n) { route.host = v }
        if let n = e["path"], let v = reader.string(n) { route.path = v }
        if let n = e["auth"], let v = reader.enumeration(n, as: RouteConfig.Auth.self) { route.auth = v }
        if let n = e["strip_prefix"], let v = reader.bool(n) { route.stripPrefix = v }
        if let n = e["preserve_host"], let v = reader.bool(n) { route.preserveHost = v }
        if let n = e["timeout"], let v = reader.duration(n) { route.timeout = v }
        if let n = e["pass_access_token"], let v = reader.bool(n) { route.passAccessToken = v }
        if let n = e["pass_identity_headers"], let v = reader.bool(n) { route.passIdentityHeaders = v }
        if let n = e["methods"], let v = reader.strings(n) { route.methods = v.map { $0.uppercased() } }
        if let n = e["audiences"], let v = reader.strings(n) { route.audiences = v }
        if let n = e["allow_session"], let v = reader.bool(n) { route.allowSession = v }
        if let n = e["cors_origins"], let v = reader.strings(n) { route.corsOrigins = v }
        if let n = e["pass_client_authorization"], let v = reader.bool(n) { route.passClientAuthorization = v }
        if let n = e["case_insensitive"], let v = reader.bool(n) { route.caseInsensitive = v }
        if let n = e["allow"], let a = reader.mapping(n, keys: ConfigKeys.allow) {
            var allow = RouteConfig.Allow()
            if let n = a["groups"], let v = reader.strings(n) { allow.groups = v }
            if let n = a["roles"], let v = reader.strings(n) { allow.roles = v }
            if let n = a["emails"], let v = reader.strings(n) { allow.emails = v }
            if let n = a["email_domains"], let v = reader.strings(n) { allow.emailDomains = v }
            if let n = a["claims"], let v = reader.listMap(n) { allow.claims = v }
            route.allow = allow
        }
        if let n = e["skip_auth"], let items = reader.sequence(n) {
            route.skipAuth = items.compactMap { item in
                guard let s = reader.mapping(item, keys: ConfigKeys.skipAuth) else { return nil }
                guard let pathNode = s["path"], let path = reader.string(pathNode) else {
                    reader.report(path: item.child("path"), line: item.line, "is required")
                    return nil
                }
                let methods = s["methods"].flatMap { reader.strings($0) } ?? []
                return RouteConfig.SkipAuth(methods: methods.map { $0.uppercased() }, path: path)
            }
        }
        if let n = e["identity_headers"], let h = reader.mapping(n, keys: ConfigKeys.identityHeaders) {
            if let n = h["user"], let v = reader.string(n) { route.identityHeaders.user = v }
            if let n = h["email"], let v = reader.string(n) { route.identityHeaders.email = v }
            if let n = h["groups"], let v = reader.string(n) { route.identityHeaders.groups = v }
            if let n = h["preferred_username"], let v = reader.string(n) { route.identityHeaders.preferredUsername = v }
        }
        if let n = e["headers"] { route.headers = decodeHeaders(n) }
        if let n = e["provider"], let v = reader.string(n) { route.provider = v }
        if let n = e["token_exchange"], let t = reader.mapping(n, keys: ConfigKeys.tokenExchange),
            let audience = required(t, "audience", in: n)
        {
            route.tokenExchange = RouteConfig.TokenExchange(audience: audience, scope: t["scope"].flatMap { reader.string($0) })
        }
        if let n = e["providers"], let v = reader.strings(n) { route.providers = v }
        return route
    }

    /// `routes[].headers`: header name → template, in the order written.
    private mutating func decodeHeaders(_ node: ConfigNode) -> [TemplatedHeader] {
        reader.namedEntries(node, of: "header names to templates").compactMap { entry in
            guard let text = reader.string(entry.node) else { return nil }
            switch HeaderTemplate.parse(text) {
            case .success(let template): return TemplatedHeader(name: entry.name, template: template, text: text)
            case .failure(let problem):
                reader.report(entry.node, problem.message)
                return nil
            }
        }
    }

    private mutating func required(_ entries: [String: ConfigNode], _ key: String, in parent: ConfigNode) -> String? {
        guard let node = entries[key] else {
            reader.report(path: parent.child(key), line: parent.line, "is required")
            return nil
        }
        return reader.string(node)
    }
}

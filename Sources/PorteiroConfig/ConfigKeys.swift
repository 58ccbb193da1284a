/// Every key the configuration file accepts, per section. The decoder refuses anything else, and a
/// test checks that the commented reference `config/porteiro.yaml` mentions each one.
public enum ConfigKeys {
    public static let root: Set = [
        "server", "upstream", "logging", "forward_auth", "provider", "providers", "session", "database", "revocation", "routes",
    ]
    public static let database: Set = ["url", "url_file"]
    public static let revocation: Set = ["store", "poll_interval", "max_staleness"]
    public static let forwardAuth: Set = ["pass_access_token"]
    public static let server: Set = [
        "listen", "public_url", "trusted_proxies", "allowed_redirect_hosts", "templates_dir", "shutdown_grace", "idle_timeout",
        "max_header_bytes", "max_header_count", "config_poll_interval", "metrics_path", "metrics_listen", "tls", "threads",
        "underscores_in_headers", "max_connections",
    ]
    public static let tls: Set = ["certificate_file", "key_file", "http2"]
    public static let upstream: Set = ["connect_timeout", "idle_timeout", "max_lifetime", "max_idle_per_upstream", "ca_file", "insecure_skip_verify"]
    public static let logging: Set = ["level", "access_log", "format"]
    public static let provider: Set = [
        "issuer", "client_id", "client_secret", "client_secret_file", "token_endpoint_auth_method", "scopes",
        "extra_auth_params", "claims", "use_userinfo", "endpoints", "hmac_id_tokens", "clock_skew", "timeout",
        "require_verified_email",
    ]
    public static let claims: Set = ["user", "email", "groups", "roles"]
    public static let endpoints: Set = ["authorization", "token", "jwks", "userinfo", "end_session"]
    public static let session: Set = [
        "cookie_name", "secrets", "secrets_file", "lifetime", "refresh_before", "cookie_domain", "cookie_host_prefix", "store",
        "idle_timeout",
    ]
    public static let route: Set = [
        "host", "path", "upstream", "auth", "strip_prefix", "preserve_host", "timeout", "pass_access_token",
        "pass_identity_headers", "identity_headers", "allow", "methods", "skip_auth", "audiences", "allow_session",
        "cors_origins", "pass_client_authorization", "case_insensitive", "headers", "provider", "providers", "token_exchange",
    ]
    public static let allow: Set = ["groups", "roles", "emails", "email_domains", "claims"]
    public static let tokenExchange: Set = ["audience", "scope"]
    public static let skipAuth: Set = ["methods", "path"]
    public static let identityHeaders: Set = ["user", "email", "groups", "preferred_username"]

    /// `server.listen`, `routes[].path`, …
    public static var allPaths: [String] {
        let sections: [(String, Set<String>)] = [
            ("server", server), ("server.tls", tls), ("upstream", upstream), ("logging", logging), ("forward_auth", forwardAuth), ("provider", provider),
            ("provider.claims", claims), ("provider.endpoints", endpoints), ("session", session), ("database", database),
            ("revocation", revocation), ("routes[]", route),
            ("routes[].identity_headers", identityHeaders), ("routes[].allow", allow), ("routes[].token_exchange", tokenExchange), ("routes[].skip_auth[]", skipAuth),
        ]
        return sections.flatMap { section, keys in keys.sorted().map { "\(section).\($0)" } }
    }
}

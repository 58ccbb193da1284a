import PorteiroConfig

/// Settings a running gateway cannot change: the listener, the upstream pools, the IdP client, the
/// session keys and cookie, which claims sessions keep, the decoder limits, the log level and format, the TLS files' paths. A reload reports them instead of
/// ignoring them silently.
enum RestartRequired {
    static func keys(from old: GatewayConfig, to new: GatewayConfig) -> [String] {
        var changed: [String] = []
        func check(_ key: String, _ same: Bool) { if !same { changed.append(key) } }
        check("server.listen", old.server.listen == new.server.listen)
        check("server.public_url", old.server.publicURL == new.server.publicURL)
        check("server.allowed_redirect_hosts", old.server.allowedRedirectHosts == new.server.allowedRedirectHosts)
        check("server.max_header_bytes", old.server.maxHeaderBytes == new.server.maxHeaderBytes)
        check("server.max_header_count", old.server.maxHeaderCount == new.server.maxHeaderCount)
        check("server.shutdown_grace", old.server.shutdownGrace == new.server.shutdownGrace)
        check("server.templates_dir", old.server.errorPageTemplate == new.server.errorPageTemplate)
        check("server.config_poll_interval", old.server.configPollInterval == new.server.configPollInterval)
        check("server.threads", old.server.threads == new.server.threads)
        check("server.max_connections", old.server.maxConnections == new.server.maxConnections)
        check("server.metrics_listen", old.server.metricsListen == new.server.metricsListen)
        // The files' contents reload live; which files, and whether TLS is on, do not.
        check("server.tls", old.server.tls == new.server.tls)
        check("upstream", old.upstream == new.upstream)
        check("logging.level", old.logging.level == new.logging.level)
        check("logging.format", old.logging.format == new.logging.format)
        check(new.providers.count > 1 || old.providers.count > 1 ? "providers" : "provider", old.providers == new.providers)
        check("session", old.session == new.session)
        check("database", old.database == new.database)
        check("revocation", old.revocation == new.revocation)
        // Sessions keep only the claims routes read; a claim newly read would stay missing.
        check("routes (the claims allow.claims and headers read)", old.keptClaimPaths == new.keptClaimPaths)
        return changed
    }
}

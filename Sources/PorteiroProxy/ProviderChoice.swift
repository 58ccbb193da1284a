import PorteiroRouting

/// Which provider an own endpoint (`/oauth2/start`, `/oauth2/sign_out`, `/oauth2/userinfo`, and
/// `/oauth2/auth` without an original URI) acts for when several are configured: `provider=<name>` in the query, else the provider of the
/// route that `rd` points to, else the first. Pure, so each rule has a unit test.
enum ProviderChoice {
    /// Nil for a `provider=` that names none: refused, never a login somewhere else.
    static func forEndpoint(_ target: RequestTarget, host: String?, settings: GatewaySettings) -> Int? {
        guard settings.providerNames.count > 1 else { return 0 }
        let query = FormEncoding.decode(target.query.dropFirst())
        if let name = query["provider"] {
            // Given twice, one reader would take the first and another the last: refused.
            let given = target.query.dropFirst().split(separator: "&").filter { FormEncoding.decode($0)["provider"] != nil }.count
            return given == 1 ? settings.providerNames.firstIndex(of: name) : nil
        }
        if let returnTo = query["rd"], case .success(let destination) = RequestTarget.parse(returnTo),
           case .route(let route) = settings.routes.lookup(host: destination.authority ?? host, target: destination) {
            return route.provider
        }
        return 0
    }

    /// `/oauth2/callback` is the first provider's redirect URI, `/oauth2/callback/<name>` each
    /// other's; nil for any other path.
    static func forCallback(_ path: String, settings: GatewaySettings) -> Int? {
        let base = AuthEndpoint.callback.rawValue
        if path == base { return 0 }
        guard path.hasPrefix(base + "/"), let index = settings.providerNames.firstIndex(of: String(path.dropFirst(base.count + 1))),
              index > 0
        else { return nil }
        return index
    }
}

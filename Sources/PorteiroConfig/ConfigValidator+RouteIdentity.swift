/// What a route says about who it serves and what the app gets: its provider(s), its token
/// exchange, its header templates.
extension ConfigValidator {
    static func routeIdentityProblems(
        _ route: RouteConfig, path: String, config: GatewayConfig, report: (String, String) -> Void
    ) {
        if let name = route.provider {
            if route.auth == .none {
                report("\(path).provider", "applies only to routes that know the user (auth: required, optional or bearer)")
            } else if config.providerIndex(named: name) == nil {
                report("\(path).provider", unknownProvider(name, config))
            }
        }
        if let exchange = route.tokenExchange {
            if route.auth != .required, route.auth != .optional {
                report("\(path).token_exchange", "applies only to routes with browser sessions (auth: required or optional)")
            } else if !route.passAccessToken {
                report("\(path).token_exchange", "needs pass_access_token: the exchanged token is what the app gets")
            }
            if exchange.audience.allSatisfy(\.isWhitespace) {
                report("\(path).token_exchange.audience", "is empty (a variable that was not set?)")
            }
        }
        if !route.providers.isEmpty, route.auth != .bearer {
            report("\(path).providers", "applies only to auth: bearer (whose tokens are accepted); other routes take one provider")
        }
        for (entryIndex, name) in route.providers.enumerated() where config.providerIndex(named: name) == nil {
            report("\(path).providers[\(entryIndex)]", unknownProvider(name, config))
        }
        if route.auth == .none, !route.headers.isEmpty {
            report("\(path).headers", "applies only to routes that know the user (auth: required, optional or bearer)")
        }
        var headerNames: Set<String> = []
        for header in route.headers {
            let key = "\(path).headers.\(header.name)"
            if !isToken(header.name) {
                report(key, "\"\(header.name)\" is not a valid header name")
            } else if isReservedHeader(header.name) || header.name.lowercased().hasPrefix("proxy-") {
                report(key, "is a header the request itself needs (the access token goes with pass_access_token)")
            } else if !headerNames.insert(header.name.lowercased().replacing("_", with: "-")).inserted {
                report(key, "names the same header as another entry (names are compared ignoring case, `_` as `-`)")
            }
        }
    }

    private static func unknownProvider(_ name: String, _ config: GatewayConfig) -> String {
        "\"\(name)\" is not one of the providers (\(config.providers.map(\.name).joined(separator: ", ")))"
    }
}

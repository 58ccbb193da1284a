/// What a valid configuration may still do that its author likely did not mean: each is printed by
/// `check-config` and logged at every load. Errors (`ConfigValidator`) stop a file; these do not,
/// since each can be deliberate.
public enum ConfigWarnings {
    public static func all(in config: GatewayConfig) -> [ConfigProblem] {
        RouteShadowing.warnings(in: config) + audienceWarnings(config) + skipAuthWarnings(config)
    }

    /// A bearer route that accepts the gateway's own client id as an audience accepts every ID
    /// token of every login too, unless the IdP marks them (`nonce`, Keycloak's `typ: ID`): list
    /// the API's own audience instead.
    static func audienceWarnings(_ config: GatewayConfig) -> [ConfigProblem] {
        guard let clientID = config.provider?.clientID else { return [] }
        return config.routes.enumerated().compactMap { index, route in
            guard route.auth == .bearer, route.audiences.contains(clientID) else { return nil }
            return ConfigProblem(
                path: "routes[\(index)].audiences", line: nil,
                message: "includes provider.client_id \"\(clientID)\": ID tokens carry that audience too; give the API an audience of its own (a Keycloak audience mapper)")
        }
    }

    /// A skip-auth rule that covers the route's whole prefix (`path: "/*"`) opens every path of the
    /// route to the methods it names — and apps that ignore the method (PHP, CGI) answer an
    /// `OPTIONS` with the page itself.
    static func skipAuthWarnings(_ config: GatewayConfig) -> [ConfigProblem] {
        config.routes.enumerated().flatMap { index, route in
            route.skipAuth.enumerated().compactMap { ruleIndex, rule -> ConfigProblem? in
                guard rule.path.hasSuffix("*"), route.path.hasPrefix(rule.path.dropLast()) else { return nil }
                let methods = rule.methods.isEmpty ? "every method" : rule.methods.joined(separator: ", ")
                return ConfigProblem(
                    path: "routes[\(index)].skip_auth[\(ruleIndex)]", line: nil,
                    message: "skips sign-in for every path of the route (\(methods)); an app that ignores the method answers with its pages")
            }
        }
    }
}

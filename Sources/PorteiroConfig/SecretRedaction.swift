/// Configuration values end up in logs by accident: swift-service-lifecycle logs the services it
/// starts with `String(describing:)`, which printed the whole configuration, secrets included, at
/// debug level. The two types that hold secrets describe and reflect themselves with the secrets
/// replaced, so neither `print`, string interpolation nor `dump` can show one.
extension SessionConfig: CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    public var description: String {
        "SessionConfig(cookieName: \(cookieName), secrets: \(redacted(secrets.count)), lifetime: \(lifetime), "
            + "refreshBefore: \(refreshBefore), cookieDomain: \(cookieDomain ?? "-"), cookieHostPrefix: \(cookieHostPrefix.map { "\($0)" } ?? "auto"), store: \(store))"
    }

    public var debugDescription: String { description }

    public var customMirror: Mirror {
        Mirror(self, children: ["description": description])
    }
}

extension ProviderConfig: CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    public var description: String {
        "ProviderConfig(issuer: \(issuer), clientID: \(clientID), clientSecret: \(redacted(clientSecret == nil ? 0 : 1)), "
            + "tokenEndpointAuth: \(tokenEndpointAuth), scopes: \(scopes), timeout: \(timeout))"
    }

    public var debugDescription: String { description }

    public var customMirror: Mirror {
        Mirror(self, children: ["description": description])
    }
}

extension DatabaseConfig: CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    public var description: String { "DatabaseConfig(url: \(redacted(url == nil ? 0 : 1)))" }

    public var debugDescription: String { description }

    public var customMirror: Mirror {
        Mirror(self, children: ["description": description])
    }
}

private func redacted(_ count: Int) -> String {
    count == 0 ? "none" : "<\(count) redacted>"
}

/// How Porteiro's cookies are named and flagged. Safe defaults are the type's defaults:
/// HttpOnly always, SameSite=Lax, Secure unless the public URL is plain http, Path=/.
public struct CookieSettings: Sendable, Equatable {
    public var name: String
    public var secure: Bool
    public var domain: String?
    /// `__Host-` prefix: Secure, Path=/ and no Domain, enforced by browsers.
    public var hostPrefix: Bool
    public var sameSite: String

    public init(name: String, secure: Bool, domain: String? = nil, hostPrefix: Bool = false, sameSite: String = "Lax") {
        precondition(!hostPrefix || (secure && domain == nil), "__Host- cookies must be Secure and have no Domain")
        self.name = name
        self.secure = secure
        self.domain = domain
        self.hostPrefix = hostPrefix
        self.sameSite = sameSite
    }

    /// The name as the browser stores it.
    public var fullName: String { hostPrefix ? "__Host-" + name : name }

    /// A `Set-Cookie` value deleting a cookie that may have been set elsewhere (another `Path`, or a
    /// `Domain` the gateway never sets): used only to clear planted copies.
    public func deleteCookie(name: String, path: String, domain: String?) -> String {
        var parts = ["\(name)=", "Path=\(path)", "Max-Age=0"]
        if let domain, !hostPrefix { parts.append("Domain=\(domain)") }
        if secure { parts.append("Secure") }
        parts.append("HttpOnly")
        parts.append("SameSite=\(sameSite)")
        return parts.joined(separator: "; ")
    }

    /// A `Set-Cookie` value. `maxAge` nil = session cookie; 0 = delete.
    public func setCookie(name: String, value: String, maxAge: Int?) -> String {
        var parts = ["\(name)=\(value)", "Path=/"]
        if let maxAge { parts.append("Max-Age=\(maxAge)") }
        if let domain, !hostPrefix { parts.append("Domain=\(domain)") }
        if secure { parts.append("Secure") }
        parts.append("HttpOnly")
        parts.append("SameSite=\(sameSite)")
        return parts.joined(separator: "; ")
    }
}

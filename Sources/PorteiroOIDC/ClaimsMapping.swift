public import PorteiroConfig

/// Who a token says the user is, read at the configured claim paths.
public struct Identity: Sendable, Equatable {
    public var subject: String
    public var user: String
    public var email: String
    /// `email_verified` is `true` (or the string `"true"`, as some IdPs send it).
    public var emailVerified: Bool
    public var groups: [String]
    public var roles: [String]
    public var sid: String?

    public init(subject: String, user: String, email: String, emailVerified: Bool = false, groups: [String], roles: [String], sid: String?) {
        self.subject = subject
        self.user = user
        self.email = email
        self.emailVerified = emailVerified
        self.groups = groups
        self.roles = roles
        self.sid = sid
    }
}

extension ProviderConfig.Claims {
    /// The identity in `claims` (ID token, optionally merged with userinfo). The user falls back to
    /// `sub` when the configured claim is absent, so every session names someone.
    public func identity(from claims: ClaimValue) -> Identity {
        let subject = claims.value(at: "sub")?.string ?? ""
        return Identity(
            subject: subject,
            user: claims.value(at: user)?.string ?? subject,
            email: claims.value(at: email)?.string ?? "",
            emailVerified: claims.value(at: "email_verified") == .bool(true) || claims.value(at: "email_verified") == .string("true"),
            groups: claims.value(at: groups)?.strings ?? [],
            roles: claims.value(at: roles)?.strings ?? [],
            sid: claims.value(at: "sid")?.string)
    }
}

extension ClaimValue {
    /// `self` with the members of `other` added where `self` has none (ID token wins over userinfo).
    public func merging(_ other: ClaimValue) -> ClaimValue {
        guard case .object(var mine) = self, case .object(let theirs) = other else { return self }
        for (key, value) in theirs where mine[key] == nil { mine[key] = value }
        return .object(mine)
    }
}

/// Who may pass a route, compiled from its `allow:` block: any one rule admits. No rules means any
/// signed-in user. Matching is exact and case-sensitive except email addresses and domains, which
/// are compared in lower case. Pure and allocation-light: evaluated once per request.
public struct AccessPolicy: Sendable, Equatable, CustomStringConvertible {
    public var groups: Set<String>
    public var roles: Set<String>
    public var emails: Set<String>
    /// Stored with a leading `@`, lowercased.
    public var emailDomains: [String]
    /// Claim path → accepted values.
    public var claims: [String: Set<String>]

    public init(
        groups: [String] = [], roles: [String] = [], emails: [String] = [], emailDomains: [String] = [],
        claims: [String: [String]] = [:]
    ) {
        self.groups = Set(groups)
        self.roles = Set(roles)
        self.emails = Set(emails.map { $0.lowercased() })
        self.emailDomains = emailDomains.map { "@" + $0.lowercased().drop(while: { $0 == "@" }) }
        self.claims = claims.mapValues(Set.init)
    }

    public static let anySignedInUser = AccessPolicy()
    /// Admits no one: what a rule that names nothing must mean (never "anyone").
    public static let nobody: AccessPolicy = {
        var policy = AccessPolicy()
        policy.admitsNobody = true
        return policy
    }()
    /// Set only by `nobody`.
    public private(set) var admitsNobody = false

    /// For log lines: `groups=[admins] email_domains=[example.org]`.
    public var description: String {
        let parts: [(String, [String])] = [
            ("groups", groups.sorted()), ("roles", roles.sorted()), ("emails", emails.sorted()),
            ("email_domains", emailDomains.map { String($0.dropFirst()) }.sorted()),
        ] + claims.sorted { $0.key < $1.key }.map { ("claims.\($0.key)", $0.value.sorted()) }
        let rules = parts.filter { !$0.1.isEmpty }.map { "\($0.0)=[\($0.1.joined(separator: ","))]" }
        if admitsNobody { return "nobody (a rule that names nothing)" }
        return rules.isEmpty ? "any signed-in user" : rules.joined(separator: " ")
    }

    public var admitsEveryone: Bool {
        !admitsNobody && groups.isEmpty && roles.isEmpty && emails.isEmpty && emailDomains.isEmpty && claims.isEmpty
    }

    /// The claim paths the rules read, so sessions keep only those claims.
    public var claimPaths: Set<String> { Set(claims.keys) }

    public enum Decision: Sendable, Equatable {
        /// `rule` names what admitted, for the log (`group servidores`, `any signed-in user`).
        case allow(rule: String)
        case deny
    }

    public func decide(_ subject: PolicySubject) -> Decision {
        if admitsNobody { return .deny }
        if admitsEveryone { return .allow(rule: "any signed-in user") }
        if let group = subject.groups.first(where: groups.contains) { return .allow(rule: "group \(group)") }
        if let role = subject.roles.first(where: roles.contains) { return .allow(rule: "role \(role)") }
        let email = subject.email.lowercased()
        if !email.isEmpty {
            if emails.contains(email) { return .allow(rule: "email \(email)") }
            if let domain = emailDomains.first(where: { email.hasSuffix($0) }) { return .allow(rule: "email domain \(domain.dropFirst())") }
        }
        for (path, accepted) in claims.sorted(by: { $0.key < $1.key }) {
            if let value = subject.claims[path]?.first(where: accepted.contains) { return .allow(rule: "claim \(path)=\(value)") }
        }
        return .deny
    }
}

/// What a policy looks at: the signed-in user's identity.
public struct PolicySubject: Sendable, Equatable {
    public var user: String
    public var email: String
    public var groups: [String]
    public var roles: [String]
    public var claims: [String: [String]]

    public init(user: String, email: String, groups: [String], roles: [String], claims: [String: [String]] = [:]) {
        self.user = user
        self.email = email
        self.groups = groups
        self.roles = roles
        self.claims = claims
    }
}

import PorteiroPolicy
import Testing

@Suite struct AccessPolicyTests {
    let maria = PolicySubject(
        user: "maria", email: "Maria@Example.org", groups: ["servidores", "rh"], roles: ["portal-user"],
        claims: ["department": ["finance"], "org.unit": ["42"]])

    @Test(arguments: [
        (AccessPolicy(), "any signed-in user"),
        (AccessPolicy(groups: ["admins", "rh"]), "group rh"),
        (AccessPolicy(roles: ["portal-user"]), "role portal-user"),
        (AccessPolicy(emails: ["maria@example.ORG"]), "email maria@example.org"),
        (AccessPolicy(emailDomains: ["example.org"]), "email domain example.org"),
        (AccessPolicy(emailDomains: ["@EXAMPLE.org"]), "email domain example.org"),
        (AccessPolicy(claims: ["department": ["audit", "finance"]]), "claim department=finance"),
        (AccessPolicy(groups: ["admins"], claims: ["org.unit": ["42"]]), "claim org.unit=42"),
    ])
    func admitsOnAnyMatchingRule(policy: AccessPolicy, rule: String) {
        #expect(policy.decide(maria) == .allow(rule: rule))
    }

    @Test(arguments: [
        AccessPolicy(groups: ["admins"]),
        AccessPolicy(groups: ["Servidores"]),
        AccessPolicy(roles: ["portal-admin"]),
        AccessPolicy(emails: ["joao@example.org"]),
        AccessPolicy(emailDomains: ["ample.org"]),
        AccessPolicy(emailDomains: ["evil.example.org"]),
        AccessPolicy(claims: ["department": ["audit"]]),
        AccessPolicy(claims: ["missing": ["x"]]),
    ])
    func deniesWhenNoRuleMatches(policy: AccessPolicy) {
        #expect(policy.decide(maria) == .deny)
    }

    @Test func describesItselfForTheLog() {
        #expect(AccessPolicy(groups: ["b", "a"], emailDomains: ["example.org"], claims: ["dept": ["x"]]).description
            == "groups=[a,b] email_domains=[example.org] claims.dept=[x]")
        #expect(AccessPolicy().description == "any signed-in user")
    }

    @Test func aUserWithoutEmailNeverMatchesEmailRules() {
        let nobody = PolicySubject(user: "joao", email: "", groups: [], roles: [])
        #expect(AccessPolicy(emailDomains: [""]).decide(nobody) == .deny)
        #expect(AccessPolicy(groups: ["servidores"]).decide(nobody) == .deny)
    }

    @Test(arguments: [
        ([], "/health", "GET", "/health", true),
        ([], "/health", "GET", "/health/x", false),
        ([], "/health", "GET", "/healthz", false),
        (["OPTIONS"], "/*", "OPTIONS", "/api/x", true),
        (["OPTIONS"], "/*", "GET", "/api/x", false),
        (["get"], "/public/*", "GET", "/public/a/b", true),
        (["GET"], "/public/*", "GET", "/publicity", false),
    ])
    func matchesSkipAuthRules(methods: [String], pattern: String, method: String, path: String, skips: Bool) {
        #expect(SkipAuthRule(methods: methods, pattern: pattern).matches(method: method, path: path) == skips)
    }
}

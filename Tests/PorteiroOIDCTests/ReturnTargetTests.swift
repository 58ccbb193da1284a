import PorteiroOIDC
import Testing

@Suite struct ReturnTargetTests {
    let targets = ReturnTarget(publicURL: "https://portal.example.org", allowedHosts: ["apps.example.org", ".intra.example.org"])

    @Test(arguments: [
        "/", "/app/page?x=1&y=%2F#top", "/a/b%20c", "https://portal.example.org/x", "https://PORTAL.example.org:443/x",
        "https://apps.example.org/", "http://wiki.intra.example.org/page",
    ])
    func acceptsOwnPathsAndAllowedHosts(target: String) {
        #expect(targets.validate(target) == target)
    }

    /// At least 30 hostile values: schemes, protocol-relative forms, backslashes, userinfo,
    /// encoded and double-encoded forms, look-alike unicode, control characters.
    @Test(arguments: [
        "//evil.com", "///evil.com", "/\\evil.com", "\\\\evil.com", "/\\/evil.com", "https:evil.com", "https:/evil.com",
        "http://evil.com", "https://evil.com/", "https://portal.example.org.evil.com/", "https://evil.com\\@portal.example.org",
        "https://portal.example.org@evil.com", "https://user:pw@portal.example.org/", "javascript:alert(1)",
        "JaVaScRiPt:alert(1)", "data:text/html,<script>", "vbscript:msgbox", "ftp://portal.example.org/",
        "/%2F%2Fevil.com", "/%2f/evil.com", "%2F%2Fevil.com", "/%5Cevil.com", "/%255C%255Cevil.com",
        "/%252F%252Fevil.com", "%68ttps://evil.com", "https://evil%2Ecom", "/%0d%0aSet-Cookie:x=1", "/\r\nLocation: //evil",
        "/a\tb", " //evil.com", "https://evil。com", "/\u{2215}\u{2215}evil.com", "//evil.com%2F..", "https://example.org",
        "https://intra.example.org", "http://[::1]/", "evil.com", "https://apps.example.org\\evil.com",
    ])
    func refusesEverythingElse(target: String) {
        #expect(targets.validate(target) == "/")
    }

    @Test func fallsBackForMissingOrHugeValues() {
        #expect(targets.validate(nil) == "/")
        #expect(targets.validate("") == "/")
        #expect(targets.validate("/" + String(repeating: "a", count: 3_000)) == "/")
    }
}

/// Our own host is trusted only at our own origin: another port or scheme there may be another,
/// less careful service (`rd=http://<public host>:9999/…` was once followed).
@Suite struct ReturnTargetOriginTests {
    let targets = ReturnTarget(publicURL: "https://portal.example.org", allowedHosts: ["apps.example.org", "wiki.example.org:8443"])

    @Test(arguments: [
        "http://portal.example.org/x", "https://portal.example.org:9999/x", "http://portal.example.org:443/x",
        "https://portal.example.org:0/", "https://portal.example.org:65536/", "https://portal.example.org:+443/",
        "https://apps.example.org:8443/", "https://wiki.example.org/", "https://wiki.example.org:8444/", "https://[::1]:443/",
    ])
    func refusesOtherPortsAndSchemes(target: String) {
        #expect(targets.validate(target) == "/")
    }

    @Test(arguments: [
        "https://portal.example.org/x", "https://portal.example.org:443/x", "https://apps.example.org:443/a",
        "http://apps.example.org/a", "https://wiki.example.org:8443/page",
    ])
    func acceptsTheSameOriginAndListedPorts(target: String) {
        #expect(targets.validate(target) == target)
    }
}

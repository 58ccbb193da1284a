import PorteiroRouting
import Testing

@Suite struct RequestTargetTests {
    @Test(arguments: [
        ("/", "/", "/", ""),
        ("/app/page?x=1&y=%2F", "/app/page", "/app/page", "?x=1&y=%2F"),
        ("/a//b///c", "/a/b/c", "/a/b/c", ""),
        ("/a/./b/../c/", "/a/c/", "/a/c/", ""),
        ("/a/b/..", "/a/", "/a/", ""),
        ("/../../etc/passwd", "/etc/passwd", "/etc/passwd", ""),
        ("/public/%2e%2e/admin/", "/admin/", "/admin/", ""),
        ("/public/%2E%2e/admin", "/admin", "/admin", ""),
        ("/public/.%2e/admin", "/admin", "/admin", ""),
        ("/%61dmin/", "/admin/", "/admin/", ""),
        ("/a%20b/%C3%A9", "/a%20b/%C3%A9", "/a%20b/%C3%A9", ""),
        ("/admin;jsessionid=1/x", "/admin;jsessionid=1/x", "/admin/x", ""),
        ("/public/..;/admin/", "/public/..;/admin/", "/admin/", ""),
        ("/public/.;x/..;y/admin", "/public/.;x/..;y/admin", "/admin", ""),
        ("http://Portal.example.org/x?q", "/x", "/x", "?q"),
        ("https://portal.example.org", "/", "/", ""),
    ])
    func normalizes(raw: String, path: String, routingPath: String, query: String) throws {
        let target = try RequestTarget.parse(raw).get()
        #expect(target.path == path)
        #expect(target.routingPath == routingPath)
        #expect(target.query == query)
    }

    @Test(arguments: [
        ("/a/%2f/b", RequestTarget.Rejection.encodedSeparator),
        ("/a/%2F..%2Fadmin", .encodedSeparator),
        ("/a/%5c..%5cadmin", .encodedSeparator),
        ("/a%00b", .encodedSeparator),
        ("/a\\b", .forbiddenCharacter),
        ("/a#frag", .forbiddenCharacter),
        ("/a\u{7f}", .forbiddenCharacter),
        ("/caf\u{e9}", .forbiddenCharacter),
        ("/a?b\u{01}", .forbiddenCharacter),
        ("/a%zz", .badPercentEncoding),
        ("/a%2", .badPercentEncoding),
        ("*", .notOriginForm),
        ("relative/path", .notOriginForm),
        ("", .notOriginForm),
    ])
    func refuses(raw: String, reason: RequestTarget.Rejection) {
        #expect(RequestTarget.parse(raw) == .failure(reason))
    }

    /// `;parameters` are part of a segment's name to nginx and most frameworks, and stripped before
    /// dot segments to servlet containers: every reading is kept for routing to compare.
    @Test(arguments: [
        ("/x/.;/../admin/secret", ["/x/admin/secret", "/admin/secret"]),
        ("/x/;/../admin", ["/x/admin", "/admin"]),
        ("/admin;jsessionid=1/x", ["/admin/x", "/admin;jsessionid=1/x"]),
        ("/public/..;/admin/", ["/admin/", "/public/..;/admin/"]),
        ("/admin/x;jsessionid=1", ["/admin/x", "/admin/x;jsessionid=1"]),
        ("/plain/path", ["/plain/path"]),
    ])
    func keepsEveryReadingOfParameters(raw: String, readings: [String]) throws {
        #expect(try RequestTarget.parse(raw).get().routingPaths == readings)
    }

    /// Browsers send these raw; an HTTP client may not (NIO's encoder refuses them, which once left
    /// the request hanging until the route's timeout). Encoded, they mean the same to every server.
    @Test func encodesWhatAClientMayNotSendRaw() throws {
        let target = try RequestTarget.parse(#"/search/{a}|b^`c"<d>?q={"a":1}|x^\y&n=é"#).get()
        #expect(target.path == "/search/%7Ba%7D%7Cb%5E%60c%22%3Cd%3E")
        #expect(target.query == "?q=%7B%22a%22:1%7D%7Cx%5E%5Cy&n=%C3%A9")
        #expect(try RequestTarget.parse("/a/b?x=1").get().query == "?x=1")
    }

    @Test func absoluteFormCarriesItsAuthority() throws {
        #expect(try RequestTarget.parse("http://a.example.org:8080/p").get().authority == "a.example.org:8080")
        #expect(try RequestTarget.parse("/p").get().authority == nil)
    }
}

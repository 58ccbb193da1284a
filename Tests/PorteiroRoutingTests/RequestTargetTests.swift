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

    @Test func absoluteFormCarriesItsAuthority() throws {
        #expect(try RequestTarget.parse("http://a.example.org:8080/p").get().authority == "a.example.org:8080")
        #expect(try RequestTarget.parse("/p").get().authority == nil)
    }
}

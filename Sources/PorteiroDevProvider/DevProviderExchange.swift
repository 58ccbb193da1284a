import PorteiroRouting
import PorteiroSessions

/// One request to the provider, read whole (its endpoints take small forms only).
struct DevRequest: Sendable {
    var method: String
    var path: String
    var query: [String: String]
    var form: [String: String]
    var cookies: CookieHeader
    var authorization: String?

    init(method: String, uri: String, body: String, cookieHeaders: [String], authorization: String?) {
        self.method = method
        let parts = uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        self.path = String(parts[0])
        self.query = parts.count > 1 ? FormEncoding.decode(parts[1]) : [:]
        self.form = FormEncoding.decode(Substring(body))
        self.cookies = CookieHeader(cookieHeaders)
        self.authorization = authorization
    }
}

struct DevResponse: Sendable {
    var status: Int
    var headers: [(String, String)]
    var body: String
    /// Logout tokens to post before answering (back-channel logout), as (URL, form body).
    var backchannelLogouts: [(url: String, form: String)] = []

    static func json(_ body: String, status: Int = 200) -> DevResponse {
        DevResponse(status: status, headers: [("Content-Type", "application/json"), ("Cache-Control", "no-store")], body: body)
    }

    static func html(_ body: String, status: Int = 200) -> DevResponse {
        DevResponse(status: status, headers: [("Content-Type", "text/html; charset=utf-8"), ("Cache-Control", "no-store")], body: body)
    }

    static func redirect(_ location: String, cookies: [String] = []) -> DevResponse {
        DevResponse(status: 302, headers: [("Location", location), ("Cache-Control", "no-store")] + cookies.map { ("Set-Cookie", $0) }, body: "")
    }

    /// An OAuth error answer of the token or userinfo endpoint (RFC 6749 §5.2).
    static func oauthError(_ error: String, _ description: String, status: Int = 400) -> DevResponse {
        json(#"{"error":"\#(jsonEscaped(error))","error_description":"\#(jsonEscaped(description))"}"#, status: status)
    }
}

import ExtrasBase64
import Foundation
import NIOHTTP1
import PorteiroRouting

/// The sample app's one page, built from the request Porteiro forwarded.
struct SampleAppPage {
    let head: HTTPRequestHead

    var html: String {
        let user = head.headers.first(name: "x-forwarded-user")
        let identity = ["X-Forwarded-User", "X-Forwarded-Email", "X-Forwarded-Groups", "X-Forwarded-Preferred-Username"]
            .map { name in (name, head.headers.first(name: name) ?? "—") }
        // Only beside an identity Porteiro sent is the bearer token Porteiro's: anything else in
        // `Authorization` came from the client and is not presented as a verified login.
        let token = user == nil ? nil
            : head.headers.first(name: "authorization").flatMap { $0.hasPrefix("Bearer ") ? String($0.dropFirst(7)) : nil }
        let claims = token.map { Self.unverifiedClaims($0) ?? "(an opaque access token: this provider does not issue JWTs)" }
            ?? "(no bearer token from Porteiro: nobody is signed in here)"
        return """
            <!doctype html><html lang="en"><head><meta charset="utf-8"><title>Sample legacy app</title>
            <style>body{font:15px system-ui,sans-serif;max-width:60em;margin:2em auto;padding:0 1em}
            th{text-align:left;padding-right:1em;vertical-align:top}td,pre{font-family:monospace;word-break:break-all;white-space:pre-wrap}
            nav a{margin-right:1em}</style>
            </head><body><h1>Sample legacy app</h1>
            <p id="greeting">\(user.map { "Signed in as <strong id=\"user\">\(htmlEscaped($0))</strong>." } ?? "Anonymous visitor.")
            This app has no login of its own: everything below was sent to it by Porteiro.</p>
            <nav><a href="/">Public page</a><a href="/app/">Any signed-in user</a><a href="/servidores/">Group servidores only</a>
            \(user == nil ? "" : #"<a id="sign-out" href="/oauth2/sign_out">Sign out</a>"#)</nav>
            <p><code id="request">\(htmlEscaped(head.method.rawValue)) \(htmlEscaped(head.uri))</code></p>
            <h2>Identity headers</h2><table id="identity">\(Self.rows(identity))</table>
            <p>Bearer token: <code id="token">\(token.map { "…" + htmlEscaped(String($0.suffix(16))) } ?? "none")</code></p>
            <h2>Claims in the bearer token <small>(decoded, not verified — Porteiro verified the login)</small></h2>
            <pre id="claims">\(htmlEscaped(claims))</pre>
            <h2>All headers</h2><table>\(Self.rows(head.headers.map { ($0.name, $0.value) }))</table>
            </body></html>
            """
    }

    private static func rows(_ pairs: [(String, String)]) -> String {
        pairs.map { "<tr><th>\(htmlEscaped($0.0))</th><td>\(htmlEscaped($0.1))</td></tr>" }.joined()
    }

    /// The JWT's payload, pretty-printed; nil when the token is not a JWT (some IdPs send opaque tokens).
    static func unverifiedClaims(_ token: String) -> String? {
        let parts = token.split(separator: ".")
        guard parts.count == 3, let bytes = try? Base64.decode(string: String(parts[1]), options: [.base64UrlAlphabet, .omitPaddingCharacter]),
            let object = try? JSONSerialization.jsonObject(with: Data(bytes)),
            let pretty = try? JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
        else { return nil }
        return String(decoding: pretty, as: UTF8.self)
    }
}

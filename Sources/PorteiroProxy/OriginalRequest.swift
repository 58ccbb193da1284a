import NIOHTTP1
import PorteiroRouting

/// The request a front proxy asks `/oauth2/auth` about (nginx `auth_request`, Traefik and Caddy
/// forward-auth), read from `X-Forwarded-Uri` / `X-Original-URL` / `X-Original-URI`,
/// `X-Forwarded-Method` / `X-Original-Method` and `X-Forwarded-Host`.
///
/// Fail closed: a URI that does not parse, headers that disagree, or a method that is no token is
/// `unreadable` — never "no route", which once admitted any signed-in user past a route's
/// `allow`. A URI from a peer outside `trusted_proxies` is `untrusted`, not ignored: a front proxy
/// missing from that list would otherwise have every route's policy skipped.
struct OriginalRequest {
    var method: String
    var host: String?
    var target: RequestTarget

    enum Reading {
        /// No original URI at all: a direct call asking only "is this browser signed in?".
        case absent
        case untrusted
        case unreadable(reason: String)
        case request(OriginalRequest)
    }

    static let uriHeaders = ["x-forwarded-uri", "x-original-url", "x-original-uri"]
    static let methodHeaders = ["x-forwarded-method", "x-original-method"]

    static func read(_ headers: HTTPHeaders, peerIsTrusted: Bool) -> Reading {
        let uris = uriHeaders.flatMap { headers[$0] }
        guard !uris.isEmpty else { return .absent }
        guard peerIsTrusted else { return .untrusted }
        guard let uri = uris.first, uris.allSatisfy({ $0 == uri }) else {
            return .unreadable(reason: "original URI headers disagree")
        }
        guard case .success(let target) = RequestTarget.parse(uri) else {
            return .unreadable(reason: "original URI cannot be parsed")
        }
        if let problem = passedAsWritten(uri) { return .unreadable(reason: problem) }
        let methods = methodHeaders.flatMap { headers[$0] }
        let method = methods.first ?? "GET"
        guard methods.allSatisfy({ $0 == method }), isMethod(method) else {
            return .unreadable(reason: "original method missing, repeated or not a method")
        }
        let hosts = headers["x-forwarded-host"]
        guard hosts.count <= 1 else { return .unreadable(reason: "several X-Forwarded-Host headers") }
        let host = hosts.first ?? headers.first(name: "host")
        if let host, !RequestFraming.isHost(host) { return .unreadable(reason: "original host is not a host name") }
        if let authority = target.authority, !RequestFraming.sameHost(authority, host) {
            return .unreadable(reason: "original URI names another host")
        }
        return .request(OriginalRequest(method: method, host: host ?? target.authority, target: target))
    }

    /// The front proxy passes the URI to the app as the client wrote it (nginx: `$request_uri`),
    /// while the policy is decided on its normalized form: any segment that normalizing changes
    /// would let the app read another path than the one checked. `/admin/x/../health` is checked
    /// as `/health` (a skip-auth path, say) but an app that routes before resolving dot segments
    /// (Express, Flask's `<path:…>`) serves `/admin/…`; `//host/admin` is `/admin` to an app that
    /// reads it as a URL. So such URIs are refused, as are spaces and control characters.
    static func passedAsWritten(_ uri: String) -> String? {
        let path = uri.prefix { $0 != "?" }
        if path.hasPrefix("//") { return "original URI starts with //" }
        for segment in path.split(separator: "/", omittingEmptySubsequences: false) {
            let decoded = segment.lowercased().replacing("%2e", with: ".")
            if decoded == "." || decoded == ".." { return "original URI has a dot segment" }
        }
        if uri.unicodeScalars.contains(where: { $0.value <= 0x20 || $0.value == 0x7f }) {
            return "original URI has a space or control character"
        }
        return nil
    }

    /// An HTTP method: a token of uppercase letters, digits and `-` (RFC 9110 §9.1), at most 32.
    private static func isMethod(_ text: String) -> Bool {
        (1...32).contains(text.utf8.count) && text.utf8.allSatisfy {
            ($0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z")) || ($0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9")) || $0 == UInt8(ascii: "-")
        }
    }
}

import Foundation
import NIOHTTP1
import PorteiroConfig
import PorteiroOIDC
import PorteiroProxy
import PorteiroSessions

/// What an IdP puts in a token it signed — ID token, userinfo, access token on a bearer route,
/// logout token — from the moment its signature has passed: claim mapping, the claims sessions
/// keep, the session codec, and every header template. The `jwt` target cannot get here (it cannot
/// sign), and a value this path mishandled (`abs(Int64.min)`) crashed the gateway for any user of
/// any provider (red team 6).
enum ClaimsTarget {
    static let templates: [TemplatedHeader] = HeaderTemplate.placeholders.map { name in
        let text = "<{\(name == "claims.<path>" ? "claims.n" : name)}>"
        return TemplatedHeader(name: "X-T", template: try! HeaderTemplate.parse(text).get(), text: text)
    }

    static func run(_ bytes: [UInt8]) {
        guard let claims = try? JSONDecoder().decode(ClaimValue.self, from: Data(bytes)) else { return }
        let identity = ProviderConfig.Claims().identity(from: claims)
        let kept = Dictionary(uniqueKeysWithValues: ["n", "a.b", "groups"].compactMap { path in claims.value(at: path).map { (path, $0.strings) } })
        for key in ["exp", "iat", "nbf", "auth_time", "n"] {
            _ = (claims.value(at: key)?.unixSeconds, claims.value(at: key)?.integer, claims.value(at: key)?.number)
        }
        let session = Session(
            id: "i", subject: identity.subject, user: identity.user, email: identity.email, emailVerified: identity.emailVerified,
            groups: identity.groups, roles: identity.roles, accessToken: "t",
            idToken: claims.value(at: "id")?.string.flatMap { $0.isEmpty ? nil : $0 },  // the codec's absent optional is ""
            sid: identity.sid.flatMap { $0.isEmpty ? nil : $0 },
            createdAt: 1_800_000_000, expiresAt: 1_800_003_600, claims: kept)
        guard Session(decoding: session.encoded()) == session else { fatalError("a session does not survive its codec") }
        var user = SignedInUser(
            user: session.user, email: session.email, groups: session.groups, roles: session.roles, claims: session.claims,
            accessToken: session.accessToken, subject: session.subject, idToken: session.idToken)
        user.sessionID = session.id
        var headers = HTTPHeaders()
        HeaderRewriter.addTemplatedHeaders(templates, identity: user, tokens: true, to: &headers)
        for (_, value) in headers where value.utf8.contains(where: { $0 < 0x20 || $0 == 0x7f }) || value.utf8.count > HeaderTemplate.maxValueBytes {
            fatalError("a header value with a control character or over the limit: \(value.debugDescription)")
        }
    }
}

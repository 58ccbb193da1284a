// Micro-benchmarks of the per-request pure work, release-built:
//   swift run -c release porteiro-microbench
// Each case runs in batches; the median time per operation of 7 batches is printed, with a
// reference measured in the same run (the bare primitive the case is built on).
import Crypto
import CryptoExtras
import ExtrasBase64
import Foundation
import JWTKit
import PorteiroConfig
import PorteiroOIDC
import PorteiroPolicy
import PorteiroRouting
import PorteiroSessions

/// Median nanoseconds per call of `body` over 7 batches of `iterations` calls.
func measure(_ iterations: Int, _ body: () -> Void) -> Double {
    let clock = ContinuousClock()
    for _ in 0..<(iterations / 2) { body() }
    var batches: [Double] = []
    for _ in 0..<7 {
        let elapsed = clock.measure { for _ in 0..<iterations { body() } }
        let (seconds, attoseconds) = elapsed.components
        batches.append((Double(seconds) * 1e9 + Double(attoseconds) / 1e9) / Double(iterations))
    }
    return batches.sorted()[3]
}

func measureAsync(_ iterations: Int, _ body: () async -> Void) async -> Double {
    let clock = ContinuousClock()
    var batches: [Double] = []
    for _ in 0..<7 {
        let start = clock.now
        for _ in 0..<iterations { await body() }
        let (seconds, attoseconds) = (clock.now - start).components
        batches.append((Double(seconds) * 1e9 + Double(attoseconds) / 1e9) / Double(iterations))
    }
    return batches.sorted()[3]
}

var rows: [(String, Double)] = []
@MainActor func report(_ name: String, _ nanoseconds: Double) {
    rows.append((name, nanoseconds))
    FileHandle.standardError.write(Data("\(name): \(String(format: "%.2f", nanoseconds / 1000)) µs\n".utf8))
}

/// A JWT-shaped token of about `bytes` characters: a realistic JSON payload and a random signature.
func fakeJWT(payloadClaims: Int, signatureBytes: Int) -> String {
    let header = #"{"alg":"RS256","typ":"JWT","kid":"x5X2h8kFqRz0bC7n9TqLwM3pYv1sJd4eUa6oGi"}"#
    var claims = [
        #""exp":1795627055"#, #""iat":1795626755"#, #""jti":"5e1c2a9b-7d44-4f1e-9a51-0c3e2b8d7f61""#,
        #""iss":"https://iam.example.org/realms/gov""#, #""aud":"account""#, #""sub":"f3c1b2a4-9d8e-4c7b-a6f5-e4d3c2b1a098""#,
        #""typ":"Bearer""#, #""azp":"legacy-portal""#, #""session_state":"8b1d6e2f-3a4c-4d5e-9f60-7a8b9c0d1e2f""#,
        #""scope":"openid profile email""#, #""email_verified":true"#, #""name":"Maria Silva""#,
        #""preferred_username":"maria""#, #""email":"maria@example.org""#, #""groups":["servidores","/gov/ti"]"#,
        #""realm_access":{"roles":["offline_access","uma_authorization","default-roles-gov"]}"#,
    ]
    claims = Array(claims.prefix(payloadClaims))
    let payload = "{" + claims.joined(separator: ",") + "}"
    let random = (0..<signatureBytes).map { _ in UInt8.random(in: 0...255) }
    func b64(_ bytes: [UInt8]) -> String { Base64.encodeToString(bytes: bytes, options: [.base64UrlAlphabet, .omitPaddingCharacter]) }
    return b64(Array(header.utf8)) + "." + b64(Array(payload.utf8)) + "." + b64(random)
}

// MARK: Session cookie (a typical Keycloak session: access, refresh and ID token)

let secret = SymmetricKey(size: .bits256).withUnsafeBytes { Array($0) }
let sealer = SessionSealer(secrets: [secret])
let settings = CookieSettings(name: "_porteiro", secure: true)
let now = Int64(Date().timeIntervalSince1970)
let session = Session(
    subject: "f3c1b2a4-9d8e-4c7b-a6f5-e4d3c2b1a098", user: "maria", email: "maria@example.org", groups: ["servidores", "/gov/ti"],
    roles: ["offline_access", "uma_authorization"], accessToken: fakeJWT(payloadClaims: 16, signatureBytes: 256),
    refreshToken: fakeJWT(payloadClaims: 9, signatureBytes: 32), idToken: fakeJWT(payloadClaims: 14, signatureBytes: 256),
    sid: "8b1d6e2f-3a4c-4d5e-9f60-7a8b9c0d1e2f", accessTokenExpiresAt: now + 300, createdAt: now, expiresAt: now + 8 * 3600)
let sealed = sealer.seal(session.encoded(), purpose: "session")
let cookieHeader = "_ga=GA1.2.123456789.1700000000; lang=pt-BR; _porteiro=\(sealed); theme=dark"
let plainBytes = session.encoded().count
print("session: \(plainBytes) bytes encoded, \(sealed.utf8.count) bytes sealed (cookie value)")
// zlib's first allocations go through mmap until glibc raises its threshold: warm that up so the
// figures are the steady state of a running gateway, not of a fresh process.
for _ in 0..<2_000 { _ = sealer.seal(session.encoded(), purpose: "session") }

report("session cookie: open + verify + decode", measure(20_000) {
    let jar = CookieHeader([cookieHeader])
    guard let value = CookieChunks.read(jar, name: "_porteiro"), let bytes = sealer.open(value, purpose: "session"),
        let opened = Session(decoding: bytes), opened.expiresAt > now
    else { fatalError("did not open") }
})
report("session cookie: encode + seal + Set-Cookie", measure(5_000) {
    let value = sealer.seal(session.encoded(), purpose: "session")
    _ = CookieChunks.write(value, settings: settings, maxAge: 28_800, present: CookieHeader([]))
})
let memo = [cookieHeader]
let sameHeader = [String(decoding: Array(cookieHeader.utf8), as: UTF8.self)]
report("session on a kept-alive connection: same Cookie header, memo reused", measure(200_000) {
    precondition(memo == sameHeader)
})
let gcmKey = SymmetricKey(data: secret)
let gcmBox = try AES.GCM.seal(Array(repeating: UInt8(7), count: sealed.utf8.count * 3 / 4), using: gcmKey)
report("  reference: AES-256-GCM open of the same size", measure(20_000) {
    _ = try! AES.GCM.open(gcmBox, using: gcmKey)
})

// MARK: Revocation check (back-channel logout), on every signed-in request

for count in [0, 1_000, 100_000] {
    let cache = RevocationCache(maxStaleness: nil)
    cache.apply((0..<count).map { index in
        Revocation(target: index % 2 == 0 ? .session(sid: "sid-\(index)") : .subject(sub: "sub-\(index)", loggedInBefore: now),
                   expiresAt: now + 3600)
    }, now: now)
    report("revocation check, \(count) revoked (sid + subject lookups)", measure(200_000) {
        precondition(!cache.revokes(session))
    })
}
let revocations = RevocationCache(maxStaleness: nil)
report("revocation generation read (the memo's check)", measure(200_000) {
    precondition(revocations.generation == 0)
})

// MARK: Route lookup

func table(routes count: Int) throws -> RouteTable {
    var config = GatewayConfig()
    config.routes = (0..<count).map { index in
        RouteConfig(host: index % 2 == 0 ? "app\(index % 50).example.org" : nil, path: "/service\(index)/api/v\(index % 3)/",
                    upstream: "http://10.0.\(index / 250).\(index % 250):8080")
    }
    config.routes.append(RouteConfig(host: "portal.example.org", path: "/", upstream: "http://10.1.0.1:8080"))
    return try RouteTable(config: config)
}
for count in [10, 1_000] {
    let routes = try table(routes: count)
    let path = "/service\(count - 1)/api/v\((count - 1) % 3)/reports/2026/list"
    guard routes.route(host: "portal.example.org", path: path) != nil else { fatalError("no route") }
    report("route lookup, \(count) routes", measure(200_000) {
        _ = routes.route(host: "portal.example.org", path: path)
    })
}
let target = "/service9/api/v0/reports/2026/list?year=2026&filter=open"
report("request target: parse + normalize", measure(200_000) {
    _ = RequestTarget.parse(target)
})
let dictionary = Dictionary(uniqueKeysWithValues: (0..<1_000).map { ("/service\($0)/", $0) })
report("  reference: one Dictionary<String, Int> lookup", measure(200_000) {
    _ = dictionary["/service999/"]
})

// MARK: Policy

let policy = AccessPolicy(groups: ["servidores", "gestores"], emailDomains: ["example.org"])
let subject = PolicySubject(user: "maria", email: "maria@example.org", groups: ["/gov/ti", "servidores"], roles: ["user"])
report("policy check (groups, email domain)", measure(200_000) {
    _ = policy.decide(subject)
})

// MARK: ID-token verification (RS256, Keycloak-like claims)

let rsa = try Insecure.RSA.PrivateKey(backing: .init(keySize: .bits2048))
let signing = await JWTKeyCollection().add(rsa: rsa, digestAlgorithm: .sha256, kid: "k1")
let (modulus, exponent) = try rsa.publicKey.getKeyPrimitives()
func b64url(_ data: Data) -> String { Base64.encodeToString(bytes: Array(data), options: [.base64UrlAlphabet, .omitPaddingCharacter]) }
let jwks = #"{"keys":[{"kty":"RSA","kid":"k1","alg":"RS256","use":"sig","n":"\#(b64url(modulus))","e":"\#(b64url(exponent))"}]}"#
let keys = try await ProviderKeys.parse(jwksJSON: jwks)
struct Claims: JWTPayload {
    var iss = "https://iam.example.org/realms/gov", sub = "f3c1b2a4", aud = "legacy-portal", azp = "legacy-portal"
    var exp = Int(Date().timeIntervalSince1970) + 300, iat = Int(Date().timeIntervalSince1970), nonce = "n-0S6_WzA2Mj"
    var name = "Maria Silva", email = "maria@example.org", preferred_username = "maria", groups = ["servidores"]
    func verify(using algorithm: some JWTAlgorithm) async throws {}
}
let idToken = try await signing.sign(Claims(), kid: "k1")
let verifier = IDTokenVerifier(issuer: "https://iam.example.org/realms/gov", clientID: "legacy-portal")
report("ID token verification (RS256)", await measureAsync(2_000) {
    _ = try! await verifier.verify(idToken, keys: keys, nonce: "n-0S6_WzA2Mj", now: Date().timeIntervalSince1970)
})
let publicKey = try _RSA.Signing.PublicKey(pemRepresentation: rsa.publicKey.pemRepresentation)
let signed = Array(idToken.split(separator: ".").prefix(2).joined(separator: ".").utf8)
let signature = _RSA.Signing.RSASignature(rawRepresentation: try Base64.decode(
    string: String(idToken.split(separator: ".")[2]), options: [.base64UrlAlphabet, .omitPaddingCharacter]))
report("  reference: bare RSA-2048 PKCS#1 v1.5 verify", measure(2_000) {
    _ = publicKey.isValidSignature(signature, for: signed, padding: .insecurePKCS1v1_5)
})

// The whole proxied exchange in user space (codecs, gateway handler, pool), as `serve` runs it.
report("proxied exchange, public route, in memory (access log off)", try exchangeNanoseconds(accessLog: false))
report("proxied exchange, public route, in memory (access log on, as shipped)", try exchangeNanoseconds(accessLog: true))
report("  reference: NIO's HTTP/1.1 codecs both ways, parts passed through", try bareNIOExchangeNanoseconds())

print()
print("| case | µs per operation |")
print("| --- | ---: |")
for (name, nanoseconds) in rows {
    print("| \(name) | \(String(format: nanoseconds < 1_000 ? "%.3f" : "%.2f", nanoseconds / 1_000)) |")
}

import Dispatch
import Foundation
import PorteiroConfig
import PorteiroOIDC
import PorteiroRouting
import PorteiroSessions

/// The inputs an attacker controls most directly — five parsers alone, a signed token's claims, and the whole request path
/// over HTTP/1.1 and HTTP/2 (`RequestPathTarget`) — each a function of raw bytes that must never
/// crash, hang or break its invariant (a broken invariant is a `fatalError`, which the fuzzer
/// reports like a crash).
enum FuzzTargets {
    static let all: [String: @Sendable ([UInt8]) -> Void] = [
        "cookie": cookie, "config": config, "redirect": redirect, "path": path, "jwt": jwt, "claims": ClaimsTarget.run,
        "request": RequestPathTarget.http1, "request-h2": RequestPathTarget.http2,
    ]

    // MARK: cookie — the Cookie header → session, and the session codec behind the seal

    static let sealer = SessionSealer(secrets: [Array(repeating: 7, count: 32)])

    static func cookie(_ bytes: [UInt8]) {
        let header = String(decoding: bytes, as: UTF8.self)
        let jar = CookieHeader([header])
        if let value = CookieChunks.read(jar, name: "_porteiro"), let opened = sealer.open(value, purpose: "session") {
            _ = Session(decoding: opened)
        }
        // Behind the seal: the codec must refuse or round-trip whatever bytes it is given.
        if let session = Session(decoding: bytes) {
            guard Session(decoding: session.encoded()) == session else { fatalError("session codec does not round-trip") }
        }
    }

    // MARK: config — the YAML loader and validator

    static let loader = ConfigLoader(environment: ["SECRET": "x"], readFile: { _ in throw CocoaError(.fileNoSuchFile) })

    static func config(_ bytes: [UInt8]) {
        do {
            _ = try loader.load(yaml: String(decoding: bytes, as: UTF8.self))
        } catch {
            guard !error.problems.isEmpty, error.problems.allSatisfy({ !$0.message.isEmpty }) else {
                fatalError("a refused configuration must say why")
            }
        }
    }

    // MARK: redirect — rd / post_logout_redirect_uri never leave the allowed hosts

    static let returnTarget = ReturnTarget(publicURL: "https://portal.example.org", allowedHosts: ["apps.example.org", ".intra.example.org"])
    static let base = URL(string: "https://portal.example.org/")!

    static func redirect(_ bytes: [UInt8]) {
        let candidate = String(decoding: bytes, as: UTF8.self)
        let result = returnTarget.validate(candidate)
        guard result == "/" || result == candidate else { fatalError("validate returned something else: \(result)") }
        // An independent parser (Foundation's) resolves the answer the way a browser would.
        guard let host = URL(string: result, relativeTo: base)?.absoluteURL.host?.lowercased() else { return }
        guard host == "portal.example.org" || host == "apps.example.org" || host.hasSuffix(".intra.example.org") else {
            fatalError("off-site return target accepted: \(result) → \(host)")
        }
    }

    // MARK: path — request-target normalization

    static func path(_ bytes: [UInt8]) {
        guard case .success(let target) = RequestTarget.parse(String(decoding: bytes, as: UTF8.self)) else { return }
        for path in [target.path, target.routingPath] {
            guard path.hasPrefix("/"), !path.contains("//"), !path.hasSuffix("/.."), !path.contains("/../"),
                !path.contains("/./"), !path.hasSuffix("/.")
            else { fatalError("not normalized: \(path)") }
        }
        guard case .success(let again) = RequestTarget.parse(target.path), again.path == target.path else {
            fatalError("normalizing is not idempotent: \(target.path)")
        }
    }

    // MARK: jwt — JWKS documents, ID tokens and back-channel logout tokens

    static let verifier = IDTokenVerifier(issuer: "https://iam.example.org/realms/gov", clientID: "portal")
    static let keys: ProviderKeys = blocking {
        try! await ProviderKeys.parse(jwksJSON: #"{"keys":[{"kty":"EC","crv":"P-256","kid":"k1","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}]}"#)
    }

    static func jwt(_ bytes: [UInt8]) {
        let text = String(decoding: bytes, as: UTF8.self)
        blocking {
            _ = try? await ProviderKeys.parse(jwksJSON: text)
            if (try? await verifier.verify(text, keys: keys, nonce: "n", now: 1_800_000_000)) != nil {
                fatalError("a token nobody signed was accepted")
            }
            if (try? await LogoutTokenVerifier(tokens: verifier).verify(text, keys: keys, now: 1_800_000_000)) != nil {
                fatalError("a logout token nobody signed was accepted")
            }
        }
    }

    /// The verifier and key parser are async (jwt-kit); the fuzzer calls synchronously.
    static func blocking<T: Sendable>(_ body: @escaping @Sendable () async -> T) -> T {
        let done = DispatchSemaphore(value: 0)
        let result = ResultBox<T>()
        Task {
            result.value = await body()
            done.signal()
        }
        done.wait()
        return result.value!
    }
}

/// Hands a task's result to the waiting thread; the semaphore orders the two accesses.
private final class ResultBox<T>: @unchecked Sendable {
    var value: T?
}

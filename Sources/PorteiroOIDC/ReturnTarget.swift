import PorteiroConfig

/// Where a browser may be sent back after login or sign-out (`rd`, `post_logout_redirect_uri`):
/// a path on this origin; an absolute URL of this very origin (the public URL's scheme, host and
/// port); or an http(s) URL on a host listed in `server.allowed_redirect_hosts` (exact, or
/// `.example.org` for subdomains) at its default port, or at the port listed with it
/// (`apps.example.org:8443`). Everything else — another port or scheme of our own host,
/// `//evil`, `/\evil`, `https:evil`, other schemes, userinfo, control characters, non-ASCII, and the
/// same tricks percent-encoded once or twice — falls back to `/`. Only ASCII passes, so look-alike
/// dots and slashes cannot.
public struct ReturnTarget: Sendable {
    private let ownOrigin: Origin?
    private let allowedHosts: [(pattern: String, port: Int?)]

    /// Scheme, lowercased host and port (explicit or the scheme's default).
    struct Origin: Equatable {
        var scheme: String
        var host: String
        var port: Int
    }

    public init(publicURL: String?, allowedHosts: [String]) {
        self.ownOrigin = publicURL.flatMap { PublicURL.parse($0) }.flatMap { url in
            splitHostPort(Substring(url.authority.lowercased()), defaultPort: url.scheme.defaultPort).map {
                Origin(scheme: url.scheme.rawValue, host: $0.host, port: $0.port)
            }
        }
        // An entry without a port stands for each scheme's default port (0 marks "default").
        self.allowedHosts = allowedHosts.compactMap { entry in
            splitHostPort(Substring(entry.lowercased()), defaultPort: 0, lowestPort: 0).map { (pattern: $0.host, port: $0.port == 0 ? nil : $0.port) }
        }
    }

    public func validate(_ candidate: String?) -> String {
        guard let candidate, !candidate.isEmpty, candidate.utf8.count <= 2_048, isPlainASCII(candidate, allowingSpace: false)
        else { return "/" }
        var decoded = candidate
        for _ in 0..<3 {
            guard let next = percentDecoded(decoded), next != decoded else { break }
            guard isPlainASCII(next, allowingSpace: true) else { return "/" }
            decoded = next
        }
        if candidate.hasPrefix("/") {
            return isLocalPath(candidate) && isLocalPath(decoded) ? candidate : "/"
        }
        return isAllowedAbsolute(candidate) && isAllowedAbsolute(decoded) ? candidate : "/"
    }

    private func isLocalPath(_ path: String) -> Bool {
        path.hasPrefix("/") && !path.hasPrefix("//") && !path.hasPrefix("/\\") && !path.contains("\\")
    }

    private func isAllowedAbsolute(_ url: String) -> Bool {
        let lowered = url.lowercased()
        guard let scheme = ["https", "http"].first(where: { lowered.hasPrefix($0 + "://") }) else { return false }
        let rest = lowered.dropFirst(scheme.count + 3)
        let authority = rest.prefix(while: { $0 != "/" && $0 != "?" && $0 != "#" })
        let defaultPort = scheme == "https" ? 443 : 80
        guard !authority.contains("@"), !authority.contains("\\"), !authority.isEmpty,
            !rest.dropFirst(authority.count).contains("\\"), let (host, port) = splitHostPort(authority, defaultPort: defaultPort)
        else { return false }
        if Origin(scheme: scheme, host: host, port: port) == ownOrigin { return true }
        return allowedHosts.contains { entry in
            let hostMatches = entry.pattern.hasPrefix(".") ? host.hasSuffix(entry.pattern) : host == entry.pattern
            return hostMatches && port == (entry.port ?? defaultPort)
        }
    }

    /// Visible ASCII only; a decoded space is harmless, a raw one never arrives from a browser.
    private func isPlainASCII(_ text: String, allowingSpace: Bool) -> Bool {
        text.utf8.allSatisfy { ($0 > 0x20 || (allowingSpace && $0 == 0x20)) && $0 < 0x7f }
    }

    /// One round of percent-decoding; nil when an escape is malformed.
    private func percentDecoded(_ text: String) -> String? {
        var bytes: [UInt8] = []
        var iterator = Array(text.utf8).makeIterator()
        while let byte = iterator.next() {
            guard byte == UInt8(ascii: "%") else {
                bytes.append(byte)
                continue
            }
            guard let high = iterator.next(), let low = iterator.next(),
                let value = UInt8(String(decoding: [high, low], as: UTF8.self), radix: 16)
            else { return nil }
            bytes.append(value)
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

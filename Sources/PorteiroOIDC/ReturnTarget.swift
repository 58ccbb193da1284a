import PorteiroConfig

/// Where a browser may be sent back after login or sign-out (`rd`, `post_logout_redirect_uri`):
/// a path on this origin, or an absolute http(s) URL whose host is the public URL's or listed in
/// `server.allowed_redirect_hosts` (exact, or `.example.org` for subdomains). Everything else —
/// `//evil`, `/\evil`, `https:evil`, other schemes, userinfo, control characters, non-ASCII, and the
/// same tricks percent-encoded once or twice — falls back to `/`. Only ASCII passes, so look-alike
/// dots and slashes cannot.
public struct ReturnTarget: Sendable {
    private let ownHost: String?
    private let allowedHosts: [String]

    public init(publicURL: String?, allowedHosts: [String]) {
        self.ownHost = publicURL.flatMap { PublicURL.parse($0) }.map { hostOnly($0.authority) }
        self.allowedHosts = allowedHosts.map { $0.lowercased() }
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
        guard let scheme = ["https://", "http://"].first(where: lowered.hasPrefix) else { return false }
        let rest = lowered.dropFirst(scheme.count)
        let authority = rest.prefix(while: { $0 != "/" && $0 != "?" && $0 != "#" })
        guard !authority.contains("@"), !authority.contains("\\"), !authority.isEmpty,
            !rest.dropFirst(authority.count).contains("\\")
        else { return false }
        let host = hostOnly(String(authority))
        if host == ownHost { return true }
        return allowedHosts.contains { pattern in
            pattern.hasPrefix(".") ? host.hasSuffix(pattern) : host == pattern
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

/// `host:port` or `[v6]:port` → the lowercased host.
private func hostOnly(_ authority: String) -> String {
    let lowered = authority.lowercased()
    if lowered.hasPrefix("["), let close = lowered.firstIndex(of: "]") {
        return String(lowered[...close])
    }
    return String(lowered.prefix(while: { $0 != ":" }))
}

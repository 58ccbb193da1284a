/// Splits a sealed value over several cookies when it is too large for one (browsers keep ~4 KiB
/// per cookie): `_porteiro` when it fits, else `_porteiro_0`, `_porteiro_1`, … Reassembly refuses
/// gaps, so a missing or reordered chunk yields nothing, never a wrong session.
public enum CookieChunks {
    /// Room for the value in one cookie, leaving space for the name and attributes.
    public static let maxValueBytes = 3_800
    /// More chunks than this is refused on reading (bounded work for hostile headers).
    public static let maxChunks = 8

    public static func read(_ cookies: CookieHeader, name: String) -> String? {
        if let whole = cookies[name] { return String(whole) }
        var value = ""
        for index in 0..<maxChunks {
            guard let part = cookies["\(name)_\(index)"] else { break }
            value += part
        }
        return value.isEmpty ? nil : value
    }

    /// `Set-Cookie` values that store `value` and delete every other form present in the request.
    public static func write(_ value: String, settings: CookieSettings, maxAge: Int, present: CookieHeader) -> [String] {
        let name = settings.fullName
        var names: [String] = []
        var headers: [String] = []
        if value.utf8.count <= maxValueBytes {
            names = [name]
            headers = [settings.setCookie(name: name, value: value, maxAge: maxAge)]
        } else {
            let bytes = Array(value.utf8)
            for (index, start) in stride(from: 0, to: bytes.count, by: maxValueBytes).enumerated() {
                let part = String(decoding: bytes[start..<min(start + maxValueBytes, bytes.count)], as: UTF8.self)
                names.append("\(name)_\(index)")
                headers.append(settings.setCookie(name: "\(name)_\(index)", value: part, maxAge: maxAge))
            }
        }
        return headers + deleteAll(settings: settings, present: present, keeping: Set(names))
    }

    /// True when the request carries two different values for the cookie (or a chunk of it), or
    /// both its whole and its chunked form: one of them was planted (cookie tossing), and neither
    /// may be believed.
    public static func isConflicting(_ cookies: CookieHeader, name: String) -> Bool {
        cookies.conflictingNames.contains { $0 == name || isChunkName($0, of: name) }
            || (cookies[name] != nil && cookies["\(name)_0"] != nil)
    }

    /// Most deletions one answer carries for a conflict (paths × domains × names).
    static let maxConflictDeletions = 32

    /// `Set-Cookie` values that delete the cookie and its chunks wherever a planted copy could sit
    /// and still be sent with this request: at `/` and at every path prefix of `requestPath` that
    /// a cookie's `Path` can match, host-only and for each parent domain of `host`. Bounded.
    public static func deleteConflicting(settings: CookieSettings, present: CookieHeader, requestPath: String, host: String?)
        -> [String]
    {
        let name = settings.fullName
        let names = ([name] + present.names(withPrefix: name + "_").filter { isChunkName($0, of: name) })
            .filter { present[$0] != nil }
        var paths = ["/"]
        var prefix = ""
        for segment in requestPath.split(separator: "/") {
            prefix += "/" + segment
            paths += [prefix, prefix + "/"]
        }
        var domains: [String?] = [nil]
        if let host, !isAddressLiteral(host) {
            var labels = host.lowercased().split(separator: ":").first.map { $0.split(separator: ".") } ?? []
            while labels.count >= 2 {
                domains.append(labels.joined(separator: "."))
                labels.removeFirst()
            }
        }
        var deletions: [String] = []
        for cookie in names {
            for domain in domains {
                for path in paths where deletions.count < maxConflictDeletions {
                    deletions.append(settings.deleteCookie(name: cookie, path: path, domain: domain))
                }
            }
        }
        return deletions
    }

    /// `Set-Cookie` values that delete the cookie and all its chunks present in the request.
    public static func deleteAll(settings: CookieSettings, present: CookieHeader, keeping: Set<String> = []) -> [String] {
        let name = settings.fullName
        let stale = ([name] + present.names(withPrefix: name + "_").filter { isChunkName($0, of: name) })
            .filter { present[$0] != nil && !keeping.contains($0) }
        return stale.map { settings.setCookie(name: $0, value: "", maxAge: 0) }
    }

    private static func isChunkName(_ candidate: String, of name: String) -> Bool {
        let suffix = candidate.dropFirst(name.count + 1)
        return !suffix.isEmpty && suffix.allSatisfy(\.isNumber)
    }
}

/// `127.0.0.1`, `[::1]:8080`: a host no `Domain` attribute can name.
private func isAddressLiteral(_ host: String) -> Bool {
    host.hasPrefix("[") || host.split(separator: ":").first.map { $0.allSatisfy { $0.isNumber || $0 == "." } } ?? false
}

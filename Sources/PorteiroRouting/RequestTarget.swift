/// A request target made safe to route on: the router, the policy and the upstream must agree on
/// which resource a request names, or a crafted path reaches a protected app through a public route
/// (oauth2-proxy's path-mismatch advisories). So the path Porteiro forwards is the path it routed.
///
/// Normalization: percent-encoded unreserved characters are decoded (`%2e` is `.`, RFC 3986 §2.3),
/// dot segments are removed, repeated slashes merged. Encoded `/`, `\` and NUL, raw backslashes,
/// control characters and raw non-ASCII bytes are refused, since servers disagree about them. Bytes
/// RFC 3986 does not allow raw but browsers send anyway (`{ } | ^ " < >` and the backtick in
/// paths and queries, non-ASCII in queries) are percent-encoded, which means the same to every
/// server and is what an HTTP client may put on the wire.
///
/// `;parameters` are read two ways by the servers behind Porteiro: as part of the segment's name
/// (nginx, most frameworks) or stripped before dot segments are resolved (servlet containers:
/// `/x/.;/../admin` is `/admin` to Tomcat). `routingPaths` holds every reading; the route must be the
/// same under each, or the request is refused (see `RouteTable.lookup`).
public struct RequestTarget: Sendable, Equatable {
    /// The normalized path that is forwarded upstream (segment `;parameters` kept).
    public var path: String
    /// `path` without `;parameters` in any segment, dot segments resolved after: what routing and
    /// policy see, because servlet containers ignore parameters (`/admin;x/` is `/admin/` to Tomcat).
    public var routingPath: String
    /// The query including its leading `?`, forwarded unchanged; empty when there is none.
    public var query: String
    /// The authority of an absolute-form target (`GET http://host/path`), which replaces `Host`.
    public var authority: String?
    /// `routingPath`, then any other path a server could take this target for when `;parameters`
    /// are involved: the literal `path`, and the raw path with parameters stripped before its dot
    /// segments are resolved. One element when there are no parameters.
    public var routingPaths: [String]

    /// True when the target has `;parameters` (then `routingPaths` may hold several readings).
    public var hasParameters: Bool { path.utf8.contains(UInt8(ascii: ";")) }

    public enum Rejection: Error, Sendable, Equatable {
        case notOriginForm
        case forbiddenCharacter
        case badPercentEncoding
        case encodedSeparator
    }

    public static func parse(_ target: String) -> Result<RequestTarget, Rejection> {
        var rest = Substring(target)
        var authority: String?
        for scheme in ["http://", "https://"] where !rest.hasPrefix("/") && rest.prefix(scheme.count).lowercased() == scheme {
            rest = rest.dropFirst(scheme.count)
            let end = rest.firstIndex(where: { $0 == "/" || $0 == "?" }) ?? rest.endIndex
            authority = String(rest[..<end])
            rest = rest[end...]
            if rest.isEmpty || rest.hasPrefix("?") { rest = "/" + rest }
        }
        guard rest.hasPrefix("/") else { return .failure(.notOriginForm) }
        let queryStart = rest.firstIndex(of: "?") ?? rest.endIndex
        let rawPath = rest[..<queryStart]
        let rawQuery = rest[queryStart...]
        if rawQuery.utf8.contains(where: { $0 < 0x20 || $0 == 0x7f || $0 == UInt8(ascii: "#") }) {
            return .failure(.forbiddenCharacter)
        }
        let query = rawQuery.utf8.contains(where: needsEncoding) ? percentEncoded(rawQuery.utf8) : String(rawQuery)
        return normalize(rawPath.utf8).map { normalized in
            let routing = routingPath(of: normalized.path)
            var readings = [routing]
            if normalized.unresolved.utf8.contains(UInt8(ascii: ";")) {
                for reading in [normalized.path, routingPath(of: normalized.unresolved)] where !readings.contains(reading) {
                    readings.append(reading)
                }
            }
            return RequestTarget(
                path: normalized.path, routingPath: routing, query: query, authority: authority, routingPaths: readings)
        }
    }

    /// Bytes an HTTP/1.1 request line may not carry raw (RFC 3986: neither unreserved, reserved nor
    /// `%`), which browsers send anyway.
    private static func needsEncoding(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "\""), UInt8(ascii: "<"), UInt8(ascii: ">"), UInt8(ascii: "\\"), UInt8(ascii: "^"),
            UInt8(ascii: "`"), UInt8(ascii: "{"), UInt8(ascii: "|"), UInt8(ascii: "}"), 0x80...0xff:
            return true
        default:
            return false
        }
    }

    private static func percentEncoded<Bytes: Sequence>(_ bytes: Bytes) -> String where Bytes.Element == UInt8 {
        let hex = Array("0123456789ABCDEF".utf8)
        var out: [UInt8] = []
        for byte in bytes {
            if needsEncoding(byte) {
                out += [UInt8(ascii: "%"), hex[Int(byte >> 4)], hex[Int(byte & 0x0f)]]
            } else {
                out.append(byte)
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Decodes unreserved escapes, merges slashes and removes dot segments in one pass over bytes;
    /// also returns the decoded path before dot segments were removed (for the servlet reading).
    private static func normalize(_ raw: Substring.UTF8View) -> Result<(path: String, unresolved: String), Rejection> {
        if isAlreadyNormal(raw) { return .success((String(Substring(raw)), String(Substring(raw)))) }
        var decoded: [UInt8] = []
        decoded.reserveCapacity(raw.count)
        var index = raw.startIndex
        while index != raw.endIndex {
            let byte = raw[index]
            if byte < 0x20 || byte >= 0x7f || byte == UInt8(ascii: "\\") || byte == UInt8(ascii: "#") {
                return .failure(.forbiddenCharacter)
            }
            if needsEncoding(byte) {
                decoded.append(contentsOf: percentEncoded([byte]).utf8)
                index = raw.index(after: index)
                continue
            }
            guard byte == UInt8(ascii: "%") else {
                decoded.append(byte)
                index = raw.index(after: index)
                continue
            }
            let high = raw.index(after: index)
            guard high != raw.endIndex, raw.index(after: high) != raw.endIndex,
                let value = hexValue(raw[high], raw[raw.index(after: high)])
            else { return .failure(.badPercentEncoding) }
            if value == UInt8(ascii: "/") || value == UInt8(ascii: "\\") || value == 0 {
                return .failure(.encodedSeparator)
            }
            if isUnreserved(value) {
                decoded.append(value)
            } else {
                decoded.append(contentsOf: raw[index..<raw.index(high, offsetBy: 2)])
            }
            index = raw.index(high, offsetBy: 2)
        }
        return .success((removeDotSegments(decoded), String(decoding: decoded, as: UTF8.self)))
    }

    private static func isAlreadyNormal(_ raw: Substring.UTF8View) -> Bool {
        var previous: UInt8 = 0
        for byte in raw {
            if byte < 0x20 || byte >= 0x7f || byte == UInt8(ascii: "%") || byte == UInt8(ascii: "\\")
                || byte == UInt8(ascii: "#") || needsEncoding(byte)
            {
                return false
            }
            if previous == UInt8(ascii: "/") && (byte == UInt8(ascii: "/") || byte == UInt8(ascii: ".")) {
                return false
            }
            previous = byte
        }
        return true
    }

    /// RFC 3986 §5.2.4 on segments, with empty segments (from `//`) merged; `..` never climbs
    /// above the root. A trailing `.` or `..` keeps the trailing slash.
    private static func removeDotSegments(_ bytes: [UInt8]) -> String {
        let dot = [UInt8(ascii: ".")], dotDot = [UInt8(ascii: "."), UInt8(ascii: ".")]
        let segments = bytes.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: true)
        var output: [ArraySlice<UInt8>] = []
        for segment in segments {
            if segment.elementsEqual(dotDot) {
                _ = output.popLast()
            } else if !segment.elementsEqual(dot) {
                output.append(segment)
            }
        }
        let endsInDot = segments.last.map { $0.elementsEqual(dot) || $0.elementsEqual(dotDot) } ?? false
        var path = "/" + output.map { String(decoding: $0, as: UTF8.self) }.joined(separator: "/")
        if !output.isEmpty, bytes.last == UInt8(ascii: "/") || endsInDot { path += "/" }
        return path
    }

    /// Parameters go first, then dot segments are resolved again: `/public/..;/admin/` is
    /// `/admin/` to Tomcat, so it must be `/admin/` to the router too.
    private static func routingPath(of path: String) -> String {
        guard path.utf8.contains(UInt8(ascii: ";")) else { return path }
        var stripped: [UInt8] = []
        var skipping = false
        for byte in path.utf8 {
            if byte == UInt8(ascii: ";") {
                skipping = true
            } else if byte == UInt8(ascii: "/") {
                skipping = false
            }
            if !skipping { stripped.append(byte) }
        }
        return removeDotSegments(stripped)
    }

    private static func isUnreserved(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"),
            UInt8(ascii: "~"):
            return true
        default:
            return false
        }
    }

    private static func hexValue(_ high: UInt8, _ low: UInt8) -> UInt8? {
        func nibble(_ c: UInt8) -> UInt8? {
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
            default: return nil
            }
        }
        guard let h = nibble(high), let l = nibble(low) else { return nil }
        return h << 4 | l
    }
}

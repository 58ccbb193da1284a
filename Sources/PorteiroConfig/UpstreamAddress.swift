/// Where a route sends its requests: `http(s)://host[:port][/base/path]`.
public struct UpstreamAddress: Sendable, Equatable, Hashable, CustomStringConvertible {
    public enum Scheme: String, Sendable {
        case http, https

        public var defaultPort: Int { self == .https ? 443 : 80 }
    }

    public var scheme: Scheme
    public var host: String
    public var port: Int
    /// Prepended to the forwarded path; empty for none. Never ends with `/`.
    public var basePath: String

    public init(scheme: Scheme, host: String, port: Int, basePath: String = "") {
        self.scheme = scheme
        self.host = host
        self.port = port
        self.basePath = basePath
    }

    /// Parses the configured text or says why it cannot, in words fit for a config error.
    /// A password in the URL (possibly from the environment) is never quoted back: the message
    /// goes to the terminal and, on a refused reload, to the log.
    public static func parse(_ text: String) -> Result<UpstreamAddress, InvalidValue> {
        let shown = redacted(text)
        let schemeEnd = text.range(of: "://")
        guard let schemeEnd, let scheme = Scheme(rawValue: text[..<schemeEnd.lowerBound].lowercased()) else {
            return .failure(InvalidValue("\"\(shown)\" is not an http(s) URL"))
        }
        let rest = text[schemeEnd.upperBound...]
        let authority = rest.prefix(while: { $0 != "/" && $0 != "?" && $0 != "#" })
        let path = rest.dropFirst(authority.count)
        guard !path.contains("?"), !path.contains("#") else {
            return .failure(InvalidValue("\"\(shown)\" must not carry a query or fragment"))
        }
        guard !authority.contains("@") else { return .failure(InvalidValue("\"\(shown)\" must not carry credentials")) }
        guard let (host, port) = splitHostPort(authority, defaultPort: scheme == .https ? 443 : 80) else {
            return .failure(InvalidValue("\"\(shown)\" has no valid host[:port]"))
        }
        var base = String(path)
        while base.hasSuffix("/") { base.removeLast() }
        return .success(UpstreamAddress(scheme: scheme, host: host, port: port, basePath: base))
    }

    /// `text` with whatever precedes an `@` in its authority replaced by `***`.
    static func redacted(_ text: String) -> String {
        let start = text.range(of: "://")?.upperBound ?? text.startIndex
        let authorityEnd = text[start...].firstIndex { $0 == "/" || $0 == "?" || $0 == "#" } ?? text.endIndex
        guard let at = text[start..<authorityEnd].lastIndex(of: "@") else { return text }
        return String(text[..<start]) + "***" + String(text[at...])
    }

    public var description: String {
        let defaultPort = scheme == .https ? 443 : 80
        let hostPart = host.contains(":") ? "[\(host)]" : host
        return "\(scheme.rawValue)://\(hostPart)\(port == defaultPort ? "" : ":\(port)")\(basePath)"
    }

    /// The `Host` header value that addresses this upstream directly.
    public var hostHeader: String {
        let defaultPort = scheme == .https ? 443 : 80
        let hostPart = host.contains(":") ? "[\(host)]" : host
        return port == defaultPort ? hostPart : "\(hostPart):\(port)"
    }
}

/// Splits `host`, `host:port`, `[v6]` or `[v6]:port`; nil when malformed (a port that is not 1–5
/// digits in range; characters no host name has). Without a port, `defaultPort` (nil: refused).
public func splitHostPort(_ authority: Substring, defaultPort: Int?, lowestPort: Int = 1) -> (host: String, port: Int)? {
    var host: Substring
    var portText: Substring?
    // Delimiters found on bytes (they are ASCII): walking `Character`s costs grapheme breaking.
    let bytes = authority.utf8
    if bytes.first == UInt8(ascii: "[") {
        guard let close = bytes.firstIndex(of: UInt8(ascii: "]")) else { return nil }
        host = authority[bytes.index(after: bytes.startIndex)..<close]
        let after = authority[bytes.index(after: close)...]
        if !after.isEmpty {
            guard after.utf8.first == UInt8(ascii: ":") else { return nil }
            portText = after.dropFirst()
        }
    } else if let colon = bytes.lastIndex(of: UInt8(ascii: ":")) {
        host = authority[..<colon]
        portText = authority[bytes.index(after: colon)...]
        guard !host.utf8.contains(UInt8(ascii: ":")) else { return nil }
    } else {
        host = authority
    }
    // Bytes, not Characters: this runs on every request's `Host` (Foundation's `contains` on a
    // Substring and Unicode letter properties once cost more than the rest of the head's checks).
    let hostnameCharacters = host.utf8.allSatisfy { byte in
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
            UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: ":"):
            return true
        default:
            return false
        }
    }
    guard !host.isEmpty, hostnameCharacters else { return nil }
    let port: Int
    if let portText {
        guard (1...5).contains(portText.utf8.count), portText.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }),
            let value = Int(portText), (lowestPort...65535).contains(value)
        else { return nil }
        port = value
    } else {
        guard let defaultPort else { return nil }
        port = defaultPort
    }
    return (String(host), port)
}

/// `host:port` for `server.listen`; port 0 asks the system for a free port (tests do).
public struct ListenAddress: Sendable, Equatable {
    public var host: String
    public var port: Int

    public static func parse(_ text: String) -> Result<ListenAddress, InvalidValue> {
        guard let (host, port) = splitHostPort(Substring(text), defaultPort: nil, lowestPort: 0) else {
            return .failure(InvalidValue("\"\(text)\" is not host:port (e.g. 127.0.0.1:4180 or [::]:4180)"))
        }
        return .success(ListenAddress(host: host, port: port))
    }
}

/// The message half of a config problem, produced by pure parsers that do not know the key path.
public struct InvalidValue: Error, Sendable, Equatable {
    public var message: String

    public init(_ message: String) {
        self.message = message
    }
}

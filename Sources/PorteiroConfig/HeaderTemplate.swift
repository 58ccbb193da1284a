/// A `routes[].headers` value: literal text around placeholders (`"{claims.employee_number}"`,
/// `"CN={user}, O=gov"`), parsed once at load so a request only fills it in.
///
/// Filling in fails closed: a placeholder whose value is missing or empty omits the whole header
/// (an app must never see `Remote-User: ` and take it for someone), a value holding a control
/// character counts as missing, list items (lists are comma-joined) that a comma-splitting app
/// would read differently are dropped, and a
/// result over `maxValueBytes` omits the header rather than cutting a value in two.
public struct HeaderTemplate: Sendable, Equatable {
    /// Where a placeholder's value comes from.
    public enum Source: Sendable, Hashable {
        case user, email, subject, groups, roles
        /// `{claims.<dotted path>}`: a string or whole number, or a list of them.
        case claim(String)
        case accessToken, idToken

        /// The placeholder's text without braces, as the configuration spells it.
        public var name: String {
            switch self {
            case .user: "user"
            case .email: "email"
            case .subject: "subject"
            case .groups: "groups"
            case .roles: "roles"
            case .claim(let path): "claims." + path
            case .accessToken: "access_token"
            case .idToken: "id_token"
            }
        }

        init?(name: String) {
            switch name {
            case "user": self = .user
            case "email": self = .email
            case "subject": self = .subject
            case "groups": self = .groups
            case "roles": self = .roles
            case "access_token": self = .accessToken
            case "id_token": self = .idToken
            default:
                guard name.hasPrefix("claims.") else { return nil }
                let path = name.dropFirst("claims.".count)
                // Dotted path of non-empty keys, as `allow.claims` and `provider.claims` take them.
                guard !path.isEmpty, !path.split(separator: ".", omittingEmptySubsequences: false).contains(where: \.isEmpty),
                      path.allSatisfy({ !$0.isWhitespace && $0 != "{" && $0 != "}" })
                else { return nil }
                self = .claim(String(path))
            }
        }

        /// Groups and roles are lists even with one item; a claim is one when it has several.
        var isList: Bool { self == .groups || self == .roles }

        /// True for the sources that are secrets: the header carries a token.
        public var isToken: Bool { self == .accessToken || self == .idToken }
    }

    public enum Part: Sendable, Equatable {
        case literal(String)
        case value(Source)
    }

    /// Why a template does not parse; the message completes "routes[0].headers.X-Id …".
    public struct Problem: Error, Equatable {
        public let message: String
    }

    /// The longest value a filled-in template may have; longer omits the header. Many app servers
    /// refuse requests whose header block passes 8 KiB (Tomcat, IIS), so no single value may take it all.
    public static let maxValueBytes = 4096

    public static let placeholders = ["user", "email", "subject", "groups", "roles", "claims.<path>", "access_token", "id_token"]

    public let parts: [Part]

    /// Parses `text`; `{{` and `}}` stand for literal braces.
    public static func parse(_ text: String) -> Result<HeaderTemplate, Problem> {
        var parts: [Part] = []
        var literal = ""
        var rest = Substring(text)
        while let first = rest.first {
            if rest.hasPrefix("{{") || rest.hasPrefix("}}") {
                literal.append(first)
                rest = rest.dropFirst(2)
            } else if first == "}" {
                return .failure(Problem(message: "has a `}` that closes nothing (write `}}` for a literal brace)"))
            } else if first == "{" {
                guard let close = rest.firstIndex(of: "}") else {
                    return .failure(Problem(message: "has a `{` that is never closed (write `{{` for a literal brace)"))
                }
                let name = String(rest[rest.index(after: rest.startIndex)..<close])
                guard let source = Source(name: name) else {
                    return .failure(Problem(message: "has an unknown placeholder {\(name)}; known: "
                        + placeholders.map { "{\($0)}" }.joined(separator: ", ")))
                }
                if !literal.isEmpty { parts.append(.literal(literal)) }
                literal = ""
                parts.append(.value(source))
                rest = rest[rest.index(after: close)...]
            } else {
                literal.append(first)
                rest = rest.dropFirst()
            }
        }
        if !literal.isEmpty { parts.append(.literal(literal)) }
        if let bad = parts.lazy.compactMap({ part -> String? in
            if case .literal(let text) = part { return text } else { return nil }
        }).first(where: { $0.unicodeScalars.contains(where: Self.isControl) }) {
            return .failure(Problem(message: "has a control character in its text \(bad.debugDescription)"))
        }
        return .success(HeaderTemplate(parts: parts))
    }

    init(parts: [Part]) {
        self.parts = parts
    }

    /// The placeholders it fills in.
    public var sources: [Source] {
        parts.compactMap { if case .value(let source) = $0 { source } else { nil } }
    }

    /// The text for a request: `values` gives each placeholder's value(s), nil when the identity
    /// has none. Nil when a value is missing or empty, or the result is too long.
    public func render(_ values: (Source) -> [String]?) -> String? {
        var result = ""
        for part in parts {
            switch part {
            case .literal(let text):
                result += text
            case .value(let source):
                guard let items = values(source) else { return nil }
                // A value with an invisible or line-breaking character is not what the IdP showed
                // anyone: left out, never cleaned into another name (`e\u{0}ve` is not `eve`).
                let clean = items.filter { !$0.unicodeScalars.contains(where: Self.isControl) }
                let kept = source.isList || clean.count > 1 ? clean.filter(Self.isListItem) : clean.filter { !$0.isEmpty }
                guard !kept.isEmpty else { return nil }
                result += kept.joined(separator: ",")
            }
            guard result.utf8.count <= Self.maxValueBytes else { return nil }
        }
        return result
    }

    /// A value as an app reads it back from a comma-joined list: not empty, no comma, no space
    /// at either end (`X-Roles: a,b` split and trimmed must give exactly what the IdP said).
    static func isListItem(_ item: String) -> Bool {
        !item.isEmpty && !item.contains(",") && item.first?.isWhitespace == false && item.last?.isWhitespace == false
    }

    /// Control characters (C0, DEL, C1), line and paragraph separators, and invisible format
    /// characters (zero-width spaces, BOM, bidi overrides): none belongs in a header value.
    public static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.properties.generalCategory {
        case .control, .lineSeparator, .paragraphSeparator, .format: true
        default: false
        }
    }
}

/// One `routes[].headers` entry: the header's name and what fills it.
public struct TemplatedHeader: Sendable, Equatable {
    public let name: String
    public let template: HeaderTemplate
    /// The text as configured, for `porteiro routes`.
    public let text: String

    public init(name: String, template: HeaderTemplate, text: String) {
        self.name = name
        self.template = template
        self.text = text
    }
}

/// A request inside a protected route that needs no sign-in (`OPTIONS` preflights, `/health`).
/// Matched on the normalized routing path — the path the router and the upstream use — so `;`,
/// `#`, `%2e%2e` or `//` tricks cannot make a protected path look like a skipped one.
public struct SkipAuthRule: Sendable, Equatable {
    /// Empty = every method.
    public var methods: Set<String>
    /// Exact path, or a prefix when it ends with `*` (`/api/public/*`).
    public var pattern: String

    public init(methods: [String] = [], pattern: String) {
        self.methods = Set(methods.map { $0.uppercased() })
        self.pattern = pattern
    }

    public func matches(method: String, path: String) -> Bool {
        guard methods.isEmpty || methods.contains(method) else { return false }
        if pattern.hasSuffix("*") { return path.hasPrefix(pattern.dropLast()) }
        return path == pattern
    }
}

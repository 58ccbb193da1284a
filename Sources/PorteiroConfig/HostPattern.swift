/// A route's `host`: an exact name (`portal.example.org`) or a wildcard suffix (`*.example.org`,
/// which matches `a.example.org` and `a.b.example.org` but not `example.org`).
public enum HostPattern: Sendable, Equatable, Hashable {
    case exact(String)
    /// Stored with its leading dot: `.example.org`.
    case suffix(String)

    public init?(_ text: String) {
        let lowered = text.lowercased()
        let isWildcard = lowered.hasPrefix("*.")
        let name = isWildcard ? String(lowered.dropFirst(2)) : lowered
        let labels = name.split(separator: ".", omittingEmptySubsequences: false)
        let validLabel: (Substring) -> Bool = { label in
            !label.isEmpty && label.count <= 63 && !label.hasPrefix("-") && !label.hasSuffix("-")
                && label.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }
        }
        guard !name.isEmpty, name.count <= 253, labels.allSatisfy(validLabel) else { return nil }
        self = isWildcard ? .suffix("." + name) : .exact(name)
    }
}

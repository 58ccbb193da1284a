/// The cookies of a request's `Cookie` header(s), by name. A name sent twice keeps its first
/// value (browsers send the most specific cookie first).
public struct CookieHeader: Sendable {
    public private(set) var values: [String: Substring] = [:]

    public init(_ headerValues: [String]) {
        for header in headerValues {
            for pair in header.split(separator: ";") {
                let trimmed = pair.drop(while: { $0 == " " })
                guard let equals = trimmed.firstIndex(of: "=") else { continue }
                let name = String(trimmed[..<equals])
                if values[name] == nil {
                    var value = trimmed[trimmed.index(after: equals)...]
                    while value.last == " " { value = value.dropLast() }
                    values[name] = value
                }
            }
        }
    }

    public subscript(name: String) -> Substring? { values[name] }

    /// Names that start with `prefix`, e.g. every chunk or every login-state cookie.
    public func names(withPrefix prefix: String) -> [String] {
        values.keys.filter { $0.hasPrefix(prefix) }.sorted()
    }
}

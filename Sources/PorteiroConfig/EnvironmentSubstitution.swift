/// Replaces `${VAR}` and `${VAR:-default}` in one scalar value.
///
/// Substitution runs on scalars after YAML parsing, never on the raw text, so a value in the
/// environment cannot inject YAML structure, and a missing variable is reported at its key path.
public enum EnvironmentSubstitution {
    public enum Failure: Error, Equatable {
        case unset(String)
        case malformed
    }

    public static func apply(_ text: String, environment: [String: String]) -> Result<String, Failure> {
        guard text.contains("${") else { return .success(text) }
        var output = ""
        var rest = Substring(text)
        while let open = rest.range(of: "${") {
            output += rest[..<open.lowerBound]
            guard let close = rest[open.upperBound...].firstIndex(of: "}") else { return .failure(.malformed) }
            let expression = rest[open.upperBound..<close]
            let (name, fallback) = split(expression)
            guard isValidName(name) else { return .failure(.malformed) }
            if let value = environment[String(name)], !(value.isEmpty && fallback != nil) {
                output += value
            } else if let fallback {
                output += fallback
            } else {
                return .failure(.unset(String(name)))
            }
            rest = rest[rest.index(after: close)...]
        }
        output += rest
        return .success(output)
    }

    private static func split(_ expression: Substring) -> (Substring, Substring?) {
        guard let marker = expression.range(of: ":-") else { return (expression, nil) }
        return (expression[..<marker.lowerBound], expression[marker.upperBound...])
    }

    private static func isValidName(_ name: Substring) -> Bool {
        guard let first = name.first, first == "_" || (first.isASCII && first.isLetter) else { return false }
        return name.allSatisfy { $0 == "_" || ($0.isASCII && ($0.isLetter || $0.isNumber)) }
    }
}

internal import Yams

/// A YAML node together with the key path that leads to it, so every problem names its place.
struct ConfigNode {
    let node: Node
    let path: String

    var line: Int? { node.mark?.line }

    func child(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }
}

/// Reads YAML nodes into typed values. It never throws: each problem is recorded with its path
/// and line and reading goes on, so one run reports everything that is wrong.
struct ConfigReader {
    private(set) var problems: [ConfigProblem] = []
    /// Line of every node read, by key path, so the validator can locate its problems too.
    private(set) var lines: [String: Int] = [:]
    let environment: [String: String]
    let readFile: (String) throws -> String

    mutating func report(_ node: ConfigNode, _ message: String) {
        problems.append(ConfigProblem(path: node.path, line: node.line, message: message))
    }

    mutating func report(path: String, line: Int?, _ message: String) {
        problems.append(ConfigProblem(path: path, line: line, message: message))
    }

    /// The entries of a mapping; a key outside `keys` is a problem (typo protection).
    mutating func mapping(_ node: ConfigNode, keys: Set<String>) -> [String: ConfigNode]? {
        lines[node.path] = node.line
        guard case .mapping(let mapping) = node.node else {
            report(node, "must be a mapping of keys")
            return nil
        }
        var entries: [String: ConfigNode] = [:]
        for (keyNode, valueNode) in mapping {
            guard let key = keyNode.scalar?.string else {
                report(node, "has a key that is not a plain string")
                continue
            }
            let child = ConfigNode(node: valueNode, path: node.child(key))
            guard keys.contains(key) else {
                let hint = closest(to: key, in: keys).map { " (did you mean \"\($0)\"?)" } ?? ""
                report(path: child.path, line: keyNode.mark?.line, "unknown key\(hint)")
                continue
            }
            entries[key] = child
        }
        return entries
    }

    /// A mapping whose keys are names the admin chooses (`providers`, `routes[].headers`), in the
    /// order written; `what` completes "must be a mapping of …".
    mutating func namedEntries(_ node: ConfigNode, of what: String) -> [(name: String, node: ConfigNode)] {
        lines[node.path] = node.line
        guard case .mapping(let mapping) = node.node else {
            report(node, "must be a mapping of \(what)")
            return []
        }
        return mapping.compactMap { keyNode, valueNode in
            guard let name = keyNode.scalar?.string else {
                report(node, "has a key that is not a plain string")
                return nil
            }
            return (name, ConfigNode(node: valueNode, path: node.child(name)))
        }
    }

    mutating func sequence(_ node: ConfigNode) -> [ConfigNode]? {
        lines[node.path] = node.line
        guard case .sequence(let sequence) = node.node else {
            report(node, "must be a list")
            return nil
        }
        return sequence.enumerated().map { ConfigNode(node: $1, path: "\(node.path)[\($0)]") }
    }

    /// A scalar with `${VAR}` / `${VAR:-default}` replaced from the environment.
    mutating func string(_ node: ConfigNode) -> String? {
        lines[node.path] = node.line
        guard case .scalar(let scalar) = node.node else {
            report(node, "must be a single value, not a list or mapping")
            return nil
        }
        switch EnvironmentSubstitution.apply(scalar.string, environment: environment) {
        case .success(let value):
            return value
        case .failure(.unset(let name)):
            report(node, "environment variable \(name) is not set (use ${\(name):-default} for a fallback)")
        case .failure(.malformed):
            report(node, "malformed ${...} reference in \"\(scalar.string)\"")
        }
        return nil
    }

    mutating func strings(_ node: ConfigNode) -> [String]? {
        guard let items = sequence(node) else { return nil }
        let values = items.map { string($0) }
        return values.contains(where: { $0 == nil }) ? nil : values.compactMap { $0 }
    }

    /// A mapping of plain string values (`extra_auth_params`).
    mutating func stringMap(_ node: ConfigNode) -> [String: String]? {
        guard case .mapping(let mapping) = node.node else {
            report(node, "must be a mapping of keys")
            return nil
        }
        var result: [String: String] = [:]
        for (keyNode, valueNode) in mapping {
            guard let key = keyNode.scalar?.string else { continue }
            if let value = string(ConfigNode(node: valueNode, path: node.child(key))) { result[key] = value }
        }
        return result
    }

    /// A mapping whose values are lists of strings (`allow.claims`).
    mutating func listMap(_ node: ConfigNode) -> [String: [String]]? {
        guard case .mapping(let mapping) = node.node else {
            report(node, "must be a mapping of keys")
            return nil
        }
        var result: [String: [String]] = [:]
        for (keyNode, valueNode) in mapping {
            guard let key = keyNode.scalar?.string else { continue }
            if let values = strings(ConfigNode(node: valueNode, path: node.child(key))) { result[key] = values }
        }
        return result
    }

    mutating func bool(_ node: ConfigNode) -> Bool? {
        guard let text = string(node) else { return nil }
        switch text.lowercased() {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        default:
            report(node, "\"\(text)\" is not true or false")
            return nil
        }
    }

    mutating func int(_ node: ConfigNode, in range: ClosedRange<Int>) -> Int? {
        guard let text = string(node) else { return nil }
        guard let value = Int(text), range.contains(value) else {
            report(node, "\"\(text)\" is not a whole number from \(range.lowerBound) to \(range.upperBound)")
            return nil
        }
        return value
    }

    mutating func duration(_ node: ConfigNode) -> Duration? {
        guard let text = string(node) else { return nil }
        guard let value = ConfigDuration.parse(text) else {
            report(node, "\"\(text)\" is not a duration (write e.g. 500ms, 30s, 5m, 8h, 1h30m)")
            return nil
        }
        return value
    }

    mutating func enumeration<E: RawRepresentable & CaseIterable>(_ node: ConfigNode, as: E.Type) -> E?
    where E.RawValue == String {
        guard let text = string(node) else { return nil }
        guard let value = E(rawValue: text) else {
            let allowed = E.allCases.map(\.rawValue).joined(separator: " | ")
            report(node, "\"\(text)\" is not one of \(allowed)")
            return nil
        }
        return value
    }

    /// A secret given inline (`key`, usually `${ENV}`) or in a file (`key_file`), never both.
    mutating func secret(_ entries: [String: ConfigNode], key: String) -> String? {
        switch secretSource(entries, key: key) {
        case .inline(let node): return string(node)
        case .file(let text): return String(text.trimmingWhitespace())
        case nil: return nil
        }
    }

    /// Secrets listed inline or one per line in a `key_file` (`#` starts a comment), never both.
    mutating func secretList(_ entries: [String: ConfigNode], key: String) -> [String]? {
        switch secretSource(entries, key: key) {
        case .inline(let node):
            // Empty entries are skipped, so `${PREVIOUS_SECRET:-}` costs nothing while unset.
            return strings(node)?.filter { !$0.isEmpty }
        case .file(let text):
            return text.split(whereSeparator: \.isNewline)
                .map { String($0.trimmingWhitespace()) }
                .filter { !$0.isEmpty && !$0.hasPrefix("#") }
        case nil:
            return nil
        }
    }

    /// A file's text, for a key that names a file or folder; a problem at `node` when unreadable.
    mutating func file(_ node: ConfigNode, path: String) -> String? {
        do {
            return try readFile(path)
        } catch {
            report(node, "cannot read \(path): \(error)")
            return nil
        }
    }

    private enum SecretSource {
        case inline(ConfigNode)
        case file(String)
    }

    private mutating func secretSource(_ entries: [String: ConfigNode], key: String) -> SecretSource? {
        let inline = entries[key]
        let file = entries["\(key)_file"]
        if let inline, file != nil {
            report(inline, "set either \(key) or \(key)_file, not both")
            return nil
        }
        if let inline { return .inline(inline) }
        guard let file, let path = string(file) else { return nil }
        return self.file(file, path: path).map(SecretSource.file)
    }

    private func closest(to key: String, in keys: Set<String>) -> String? {
        let candidates: [(name: String, distance: Int)] = keys.sorted().map { ($0, editDistance($0, key)) }
        return candidates.filter { $0.distance <= 2 }.min { $0.distance < $1.distance }?.name
    }
}

/// Levenshtein distance, for "did you mean" hints on unknown keys.
private func editDistance(_ a: String, _ b: String) -> Int {
    let a = Array(a), b = Array(b)
    var previous = Array(0...b.count)
    for i in 1...max(a.count, 1) where !a.isEmpty {
        var current = [i] + Array(repeating: 0, count: b.count)
        for j in 1...max(b.count, 1) where !b.isEmpty {
            let substitution = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)
            let insertionOrDeletion = min(previous[j], current[j - 1]) + 1
            current[j] = min(substitution, insertionOrDeletion)
        }
        previous = current
    }
    return previous[b.count]
}

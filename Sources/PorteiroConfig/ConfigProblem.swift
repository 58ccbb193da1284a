/// One thing wrong with a configuration file, located by key path and, when known, line.
///
/// Loading never stops at the first problem: the loader and validator collect every problem so an
/// admin fixes a file in one pass instead of one error per restart.
public struct ConfigProblem: Error, Sendable, Equatable, CustomStringConvertible {
    /// Dotted key path with list indices, e.g. `routes[2].upstream`. Empty for the whole document.
    public var path: String
    /// 1-based line in the YAML file, when the problem belongs to a node that has one.
    public var line: Int?
    public var message: String

    public init(path: String, line: Int?, message: String) {
        self.path = path
        self.line = line
        self.message = message
    }

    public var description: String {
        let location = line.map { "line \($0): " } ?? ""
        return path.isEmpty ? "\(location)\(message)" : "\(location)\(path): \(message)"
    }
}

/// Every problem found in one configuration file; thrown by `ConfigLoader`.
public struct ConfigProblems: Error, Sendable, CustomStringConvertible {
    public var problems: [ConfigProblem]

    public init(_ problems: [ConfigProblem]) {
        self.problems = problems
    }

    public var description: String {
        problems.map(\.description).joined(separator: "\n")
    }
}

import Foundation
internal import Yams

/// Loads a configuration file: parse YAML → decode the model → validate, reporting every problem
/// with its key path and line. The one entry point for `serve`, `check-config` and reloads.
public struct ConfigLoader: Sendable {
    public var environment: [String: String]
    public var readFile: @Sendable (String) throws -> String

    public init(environment: [String: String], readFile: @escaping @Sendable (String) throws -> String) {
        self.environment = environment
        self.readFile = readFile
    }

    /// Reads the process environment and the real file system.
    public init() {
        self.init(environment: ProcessInfo.processInfo.environment) { try String(contentsOfFile: $0, encoding: .utf8) }
    }

    public func load(file path: String) throws(ConfigProblems) -> GatewayConfig {
        let text: String
        do {
            text = try readFile(path)
        } catch {
            throw ConfigProblems([ConfigProblem(path: "", line: nil, message: "cannot read \(path): \(error)")])
        }
        return try load(yaml: text)
    }

    public func load(yaml text: String) throws(ConfigProblems) -> GatewayConfig {
        let root: Node
        do {
            guard let node = try compose(yaml: text) else {
                throw ConfigProblems([ConfigProblem(path: "", line: nil, message: "the file is empty")])
            }
            root = node
        } catch let problems as ConfigProblems {
            throw problems
        } catch let error as YamlError {
            throw ConfigProblems([ConfigLoader.problem(from: error)])
        } catch {
            throw ConfigProblems([ConfigProblem(path: "", line: nil, message: "not valid YAML")])
        }
        var decoder = ConfigDecoder(reader: ConfigReader(environment: environment, readFile: readFile))
        let config = decoder.decode(ConfigNode(node: root, path: ""))
        let unreadable = decoder.reader.problems
        // A value the decoder could not read is reported once, not again as "missing" or "invalid".
        let derived = ConfigValidator.problems(in: config, lines: decoder.reader.lines).filter { problem in
            !unreadable.contains { $0.path.hasPrefix(problem.path) || problem.path.hasPrefix($0.path) }
        }
        let problems = (unreadable + derived).enumerated()
            .sorted { ($0.element.line ?? .max, $0.offset) < ($1.element.line ?? .max, $1.offset) }
            .map(\.element)
        guard problems.isEmpty else { throw ConfigProblems(problems) }
        return config
    }

    /// Yams' own descriptions quote the document, which may hold secrets: only the problem and
    /// its line are reported, never the text around it.
    private static func problem(from error: YamlError) -> ConfigProblem {
        switch error {
        case .scanner(_, let problem, let mark, _), .parser(_, let problem, let mark, _),
            .composer(_, let problem, let mark, _):
            return ConfigProblem(path: "", line: mark.line, message: "not valid YAML: \(problem)")
        case .duplicatedKeysInMapping(let duplicates, _):
            // The context's mark points at the mapping, not at the repeated key: no line is better than a wrong one.
            return ConfigProblem(path: "", line: nil, message: "not valid YAML: repeated key(s) \(duplicates.sorted().joined(separator: ", "))")
        case .reader(let problem, _, _, _):
            return ConfigProblem(path: "", line: nil, message: "not valid YAML: \(problem)")
        default:
            return ConfigProblem(path: "", line: nil, message: "not valid YAML")
        }
    }
}

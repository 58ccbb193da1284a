import ArgumentParser
import Foundation
import PorteiroConfig
import PorteiroRouting

struct CheckConfig: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-config",
        abstract: "Validate a configuration file: print the effective routes, or every problem with its key path and line."
    )

    @OptionGroup var options: ConfigOption

    func run() throws {
        let path = options.path
        do {
            let config = try ConfigLoader().load(file: path)
            let table = try RouteTable(config: config)
            print("\(path): OK")
            print("listen \(config.server.listen)  public_url \(config.server.publicURL ?? "-")  client \(clientKind(config))")
            print(RouteSummary.render(table, providerNames: config.providers.map(\.name)))
            var standardError = StandardError()
            for warning in ConfigWarnings.all(in: config) {
                print("\(path): warning: \(warning)", to: &standardError)
            }
        } catch {
            printProblems(error, file: path)
            throw ExitCode(1)
        }
    }

    private func clientKind(_ config: GatewayConfig) -> String {
        guard let provider = config.provider else { return "-" }
        return provider.clientSecret == nil ? "public (PKCE)" : "confidential"
    }
}

/// Prints problems compiler-style (`file:line: path: message`) on standard error.
func printProblems(_ problems: ConfigProblems, file: String) {
    var standardError = StandardError()
    print("\(file): \(problems.problems.count) problem(s)", to: &standardError)
    for problem in problems.problems {
        let line = problem.line.map { ":\($0)" } ?? ""
        let path = problem.path.isEmpty ? "" : "\(problem.path): "
        print("\(file)\(line): \(path)\(problem.message)", to: &standardError)
    }
}

struct StandardError: TextOutputStream {
    mutating func write(_ string: String) {
        FileHandle.standardError.write(Data(string.utf8))
    }
}


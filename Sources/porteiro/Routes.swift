import ArgumentParser
import PorteiroConfig
import PorteiroRouting

struct Routes: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the effective route table: host, path, upstream, auth and policy, in matching order per host."
    )

    @OptionGroup var options: ConfigOption

    func run() throws {
        do {
            let config = try ConfigLoader().load(file: options.path)
            print(RouteSummary.render(try RouteTable(config: config), providerNames: config.providers.map(\.name)))
        } catch {
            printProblems(error, file: options.path)
            throw ExitCode(1)
        }
    }
}

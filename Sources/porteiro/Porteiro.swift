import ArgumentParser
import Foundation

@main
struct Porteiro: AsyncParsableCommand {
    static let version = "0.1.0"

    static let configuration = CommandConfiguration(
        abstract: "Reverse-proxy authentication gateway: OpenID Connect login in front of legacy web apps.",
        version: version,
        subcommands: [Serve.self, Demo.self, DevProviderCommand.self, CheckConfig.self, Routes.self, Keygen.self, Version.self],
        defaultSubcommand: nil
    )
}

/// `--config`, shared by the commands that read a configuration file.
struct ConfigOption: ParsableArguments {
    @Option(name: .long, help: "Configuration file (default: $PORTEIRO_CONFIG, else config/porteiro.yaml).")
    var config: String?

    var path: String {
        config ?? ProcessInfo.processInfo.environment["PORTEIRO_CONFIG"] ?? "config/porteiro.yaml"
    }
}


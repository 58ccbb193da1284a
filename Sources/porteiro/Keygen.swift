import ArgumentParser
import Crypto
import Foundation

struct Keygen: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print a fresh random 32-byte secret, base64, for session.secrets."
    )

    func run() {
        print(Self.freshSecret())
    }

    static func freshSecret() -> String {
        SymmetricKey(size: .bits256).withUnsafeBytes { Data($0).base64EncodedString() }
    }
}

struct Version: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print the version.")

    func run() {
        print("porteiro \(Porteiro.version)")
    }
}

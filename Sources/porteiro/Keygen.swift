import ArgumentParser
import Crypto
import Foundation

struct Keygen: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print a fresh random 32-byte secret, base64, for session.secrets."
    )

    func run() {
        let key = SymmetricKey(size: .bits256)
        print(key.withUnsafeBytes { Data($0).base64EncodedString() })
    }
}

struct Version: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print the version.")

    func run() {
        print("porteiro \(Porteiro.version)")
    }
}

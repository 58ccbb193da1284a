import Foundation
import PorteiroSessions

#if FUZZING
/// libFuzzer's driver, called from SwiftPM's entry point (SwiftPM names the executable's `main`).
@_silgen_name("LLVMFuzzerRunDriver")
func runFuzzerDriver(
    _ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
) -> CInt

@main
struct FuzzMain {
    static func main() {
        var argc = CommandLine.argc
        var argv = CommandLine.unsafeArgv
        exit(runFuzzerDriver(&argc, &argv, fuzzOneInput))
    }
}

/// One input: `PORTEIRO_FUZZ_TARGET` names the target (fuzz/run.sh sets it).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    target(data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? [])
    return 0
}

private let target: @Sendable ([UInt8]) -> Void = {
    let name = ProcessInfo.processInfo.environment["PORTEIRO_FUZZ_TARGET"] ?? ""
    guard let target = FuzzTargets.all[name] else {
        fatalError("PORTEIRO_FUZZ_TARGET must be one of \(FuzzTargets.all.keys.sorted())")
    }
    return target
}()
#else
/// Without the fuzzer: replays a corpus — every file under `fuzz/corpus/<target>/` through its
/// target — so the seeds and every past finding run as regression tests in `scripts/test.sh`.
@main
struct ReplayCorpus {
    static func main() throws {
        if CommandLine.arguments.dropFirst().first == "--write-seeds" {
            return try writeSeeds(to: CommandLine.arguments.dropFirst(2).first ?? "fuzz/corpus")
        }
        let root = CommandLine.arguments.dropFirst().first ?? "fuzz/corpus"
        var inputs = 0
        for (name, target) in FuzzTargets.all.sorted(by: { $0.key < $1.key }) {
            let folder = URL(fileURLWithPath: root).appendingPathComponent(name)
            let files = try FileManager.default.contentsOfDirectory(at: folder, includingPropertiesForKeys: nil)
            for file in files.sorted(by: { $0.path < $1.path }) {
                target(Array(try Data(contentsOf: file)))
                inputs += 1
            }
            print("\(name): \(files.count) inputs")
        }
        print("replayed \(inputs) inputs, no crash")
    }

    /// Seeds only Porteiro can make: a cookie header sealed under the cookie target's key, and an
    /// encoded session, so the fuzzer starts past the MAC and inside the codec.
    static func writeSeeds(to root: String) throws {
        let session = Session(
            subject: "s-1", user: "maria", email: "maria@example.org", groups: ["servidores"], roles: ["r"],
            accessToken: "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJtYXJpYSJ9.c2ln", refreshToken: "refresh", idToken: "id",
            sid: "sid-1", accessTokenExpiresAt: 1_800_000_300, createdAt: 1_800_000_000, expiresAt: 1_800_028_800,
            claims: ["dept": ["ti"]])
        let sealed = FuzzTargets.sealer.seal(session.encoded(), purpose: "session")
        let cookie = URL(fileURLWithPath: root).appendingPathComponent("cookie")
        try Data("lang=pt; _porteiro=\(sealed); theme=dark".utf8).write(to: cookie.appendingPathComponent("sealed-session"))
        try Data(session.encoded()).write(to: cookie.appendingPathComponent("encoded-session"))
    }
}
#endif

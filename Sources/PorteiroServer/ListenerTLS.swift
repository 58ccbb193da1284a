import Foundation
public import Logging
import NIOConcurrencyHelpers
import NIOSSL
public import PorteiroConfig

/// The listener's TLS context, rebuilt when the certificate or key file changes so that a
/// certbot or cert-manager renewal takes hold without a restart. New connections get the new
/// context; open ones keep the one they started with.
public final class ListenerTLS: Sendable {
    private struct Loaded {
        var context: NIOSSLContext
        var files: [Data]
    }

    let config: TLSConfig
    private let loaded: NIOLockedValueBox<Loaded>

    /// Fails with a message naming the key path when a file is unreadable or not valid PEM.
    public init(_ config: TLSConfig) throws(ConfigProblems) {
        self.config = config
        let files = Self.read(config)
        loaded = NIOLockedValueBox(Loaded(context: try Self.context(config, files: files), files: files))
    }

    var context: NIOSSLContext { loaded.withLockedValue { $0.context } }

    /// Re-reads both files; swaps the context in when they changed and still make a valid pair.
    /// A broken renewal is logged and the previous certificate keeps serving.
    public func reloadIfChanged(logger: Logger) {
        let files = Self.read(config)
        guard files != loaded.withLockedValue({ $0.files }) else { return }
        do throws(ConfigProblems) {
            let context = try Self.context(config, files: files)
            loaded.withLockedValue { $0 = Loaded(context: context, files: files) }
            logger.notice("TLS certificate reloaded", metadata: ["file": "\(config.certificateFile)"])
        } catch {
            loaded.withLockedValue { $0.files = files }
            logger.error("TLS certificate rejected; the previous one keeps serving", metadata: ["problem": "\(error)"])
        }
    }

    private static func read(_ config: TLSConfig) -> [Data] {
        [config.certificateFile, config.keyFile].map { FileManager.default.contents(atPath: $0) ?? Data() }
    }

    private static func context(_ config: TLSConfig, files: [Data]) throws(ConfigProblems) -> NIOSSLContext {
        let chain: [NIOSSLCertificate]
        do {
            chain = try NIOSSLCertificate.fromPEMBytes(Array(files[0]))
        } catch {
            throw ConfigProblems([ConfigProblem(path: "server.tls.certificate_file", line: nil, message: "\"\(config.certificateFile)\" holds no PEM certificate")])
        }
        let key: NIOSSLPrivateKey
        do {
            key = try NIOSSLPrivateKey(bytes: Array(files[1]), format: .pem)
        } catch {
            throw ConfigProblems([ConfigProblem(path: "server.tls.key_file", line: nil, message: "\"\(config.keyFile)\" holds no PEM private key")])
        }
        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
        configuration.applicationProtocols = config.http2 ? ["h2", "http/1.1"] : ["http/1.1"]
        do {
            return try NIOSSLContext(configuration: configuration)
        } catch {
            throw ConfigProblems([ConfigProblem(path: "server.tls", line: nil, message: "certificate and key do not make a TLS context: \(error)")])
        }
    }
}

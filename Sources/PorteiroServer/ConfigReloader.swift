public import Logging
public import PorteiroConfig
import UnixSignals

/// Live reload: on SIGHUP, and when the file's content changes (checked every
/// `server.config_poll_interval`), the file is loaded and validated and, if valid, swapped into the
/// running gateway (and the TLS certificate files are re-read). An invalid file is rejected with every problem logged while the old
/// configuration keeps serving; changed settings that need a restart are reported as such.
public struct ConfigReloader: Sendable {
    let path: String
    /// The text the running configuration was loaded from: changes are judged against it, so an
    /// edit made while the gateway was starting is not mistaken for the starting point.
    let loadedText: String
    let server: GatewayServer
    let loader: ConfigLoader
    let logger: Logger

    public init(path: String, loadedText: String, server: GatewayServer, loader: ConfigLoader = ConfigLoader(), logger: Logger) {
        self.path = path
        self.loadedText = loadedText
        self.server = server
        self.loader = loader
        self.logger = logger
    }

    /// Watches until cancelled. `signals: false` leaves SIGHUP alone (tests share one process).
    public func run(pollInterval: Duration, signals: Bool = true) async {
        let initialText = loadedText
        await withTaskGroup(of: Void.self) { group in
            if signals {
                group.addTask {
                    for await _ in await UnixSignalsSequence(trapping: .sighup) {
                        _ = reload(reason: "SIGHUP")
                        server.reloadCertificatesIfChanged()
                    }
                }
            }
            if pollInterval > .zero {
                group.addTask {
                    var lastText = initialText
                    while !Task.isCancelled {
                        try? await Task.sleep(for: pollInterval)
                        if let text = try? loader.readFile(path), text != lastText {
                            lastText = text
                            _ = reload(reason: "file changed")
                        }
                        server.reloadCertificatesIfChanged()
                    }
                }
            }
            await group.waitForAll()
        }
    }

    /// Loads, validates and applies the file; false when it was rejected.
    @discardableResult
    public func reload(reason: String) -> Bool {
        do throws(ConfigProblems) {
            let config = try loader.load(file: path)
            let needsRestart = try server.apply(config)
            server.metrics.configReloads.increment()
            logger.notice("configuration reloaded", metadata: ["reason": "\(reason)", "routes": "\(config.routes.count)"])
            for key in needsRestart {
                logger.warning("configuration change needs a restart to take effect", metadata: ["key": "\(key)"])
            }
            for warning in ConfigWarnings.all(in: config) {
                logger.warning("configuration warning", metadata: ["problem": "\(warning)"])
            }
            return true
        } catch {
            server.metrics.configReloadFailures.increment()
            logger.error("configuration rejected; the previous one keeps serving", metadata: ["reason": "\(reason)", "problems": "\(error.problems.count)"])
            for problem in error.problems {
                logger.error("configuration problem", metadata: ["file": "\(path)", "problem": "\(problem)"])
            }
            return false
        }
    }
}

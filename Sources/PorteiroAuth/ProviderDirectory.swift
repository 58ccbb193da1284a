public import Logging
import NIOConcurrencyHelpers
public import PorteiroConfig
public import PorteiroOIDC

/// The provider's metadata and signing keys, loaded in the background and read without waiting.
///
/// Start-up never blocks on the IdP: `load()` retries with exponential backoff (1 s … 60 s) until
/// discovery and the JWKS succeed, and until then `isReady` is false (`/ready` answers 503 and
/// login answers a clear 503 page). After a key rotation the JWKS is fetched again on an unknown
/// `kid`, at most every 10 s; a new key set replaces the old one whole. If the IdP is unreachable
/// later, existing sessions keep working on what was loaded.
public final class ProviderDirectory: Sendable {
    private struct State {
        var metadata: ProviderMetadata?
        var keys: ProviderKeys?
        var lastKeyFetch: ContinuousClock.Instant?
    }

    private let state = NIOLockedValueBox(State())
    private let client: ProviderClient
    private let provider: ProviderConfig
    private let logger: Logger
    static let minimumKeyRefetch: Duration = .seconds(10)

    public init(client: ProviderClient, provider: ProviderConfig, logger: Logger) {
        self.client = client
        self.provider = provider
        self.logger = logger
    }

    public var metadata: ProviderMetadata? { state.withLockedValue { $0.metadata } }
    public var keys: ProviderKeys? { state.withLockedValue { $0.keys } }
    public var isReady: Bool { state.withLockedValue { $0.metadata != nil && $0.keys != nil } }

    /// Loads metadata and keys, retrying with backoff; returns when both are loaded or on cancellation.
    public func load() async {
        var delay: Duration = .seconds(1)
        while !Task.isCancelled {
            do {
                let metadata: ProviderMetadata
                if let configured = ProviderMetadata(overrides: provider) {
                    metadata = configured
                } else {
                    metadata = try await client.discover()
                }
                let keys = try await client.keys(at: metadata.jwksURI)
                state.withLockedValue {
                    $0.metadata = metadata
                    $0.keys = keys
                    $0.lastKeyFetch = .now
                }
                logger.info("identity provider loaded", metadata: ["issuer": "\(metadata.issuer)", "keys": "\(keys.keyIDs.count)"])
                return
            } catch {
                logger.warning("identity provider not loaded; retrying", metadata: ["error": "\(error)", "retry_in": "\(delay)"])
                try? await Task.sleep(for: delay)
                delay = min(delay * 2, .seconds(60))
            }
        }
    }

    /// Fetches the JWKS again after a token named an unknown key; nil when rate-limited or failed.
    public func refetchKeys() async -> ProviderKeys? {
        let due: Bool = state.withLockedValue { state in
            guard let last = state.lastKeyFetch, last.duration(to: .now) < Self.minimumKeyRefetch else {
                state.lastKeyFetch = .now
                return true
            }
            return false
        }
        guard due, let uri = metadata?.jwksURI else { return nil }
        do {
            let keys = try await client.keys(at: uri)
            state.withLockedValue { $0.keys = keys }
            logger.info("signing keys refreshed", metadata: ["keys": "\(keys.keyIDs.count)"])
            return keys
        } catch {
            logger.warning("signing keys not refreshed", metadata: ["error": "\(error)"])
            return nil
        }
    }
}

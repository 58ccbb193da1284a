import NIOConcurrencyHelpers

/// `/ping` (liveness: the process answers) and `/ready` (readiness: it should get traffic).
/// Both are answered before routing, on every host, so no route can shadow them.
enum HealthEndpoint {
    case ping, ready

    init?(path: String) {
        switch path {
        case "/ping": self = .ping
        case "/ready": self = .ready
        default: return nil
        }
    }

    /// `notReady`: the providers that are not (yet) loaded, named on the 503.
    func response(isReady: Bool, notReady: [String] = []) -> LocalResponse {
        switch self {
        case .ping: return .plain(.ok, "OK\n")
        case .ready where isReady: return .plain(.ok, "READY\n")
        case .ready where notReady.isEmpty: return .plain(.serviceUnavailable, "NOT READY\n")
        case .ready: return .plain(.serviceUnavailable, "NOT READY: provider \(notReady.joined(separator: ", ")) not loaded\n")
        }
    }
}

/// Whether this replica should receive traffic: false before the listener is up and from the
/// moment a graceful shutdown begins, so load balancers drain it first.
public final class Readiness: Sendable {
    private let state = NIOLockedValueBox(false)

    public init() {}

    public var isReady: Bool { state.withLockedValue { $0 } }

    public func set(_ ready: Bool) {
        state.withLockedValue { $0 = ready }
    }
}

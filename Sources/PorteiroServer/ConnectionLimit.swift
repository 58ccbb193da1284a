#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import NIOConcurrencyHelpers
import NIOCore
import PorteiroConfig

/// At most `limit` client connections at once; one more is accepted and closed at once.
///
/// Accepting must never fail for want of descriptors: SwiftNIO's listener then keeps its read
/// pending and its socket readable, and the event loop retries `accept` in a tight loop, one core
/// spinning until connections close (measured by the red team; reproduced by
/// `test_limits.py::test_running_out_of_descriptors_backs_off_instead_of_spinning`). So the limit
/// leaves room under the process's descriptor limit for each connection's upstream connection too.
final class ConnectionLimit: Sendable {
    let limit: Int
    private let open = NIOLockedValueBox(0)

    /// `server.max_connections`, or when it is 0: half of what the descriptor limit leaves after a
    /// reserve (a client and an upstream connection each), at least 16.
    init(configured: Int) {
        var limits = rlimit()
        let descriptors = getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limits) == 0 ? Int(clamping: limits.rlim_cur) : 1_024
        self.limit = configured > 0 ? configured : max(16, (descriptors - 128) / 2)
    }

    /// Counts `channel` in until it closes; false (and nothing counted) when the limit is reached.
    func admit(_ channel: any Channel) -> Bool {
        let admitted = open.withLockedValue { open in
            guard open < limit else { return false }
            open += 1
            return true
        }
        if admitted { channel.closeFuture.whenComplete { _ in self.open.withLockedValue { $0 -= 1 } } }
        return admitted
    }
}

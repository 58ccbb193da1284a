import NIOCore
import PorteiroConfig

/// One keep-alive connection to an upstream, leased by one exchange at a time.
final class UpstreamConnection {
    let id: Int
    let channel: any Channel
    let handler: UpstreamHandler
    let address: UpstreamAddress
    let createdAt: NIODeadline
    /// Exchanges served before the current one; a reused connection may have been closed by the
    /// upstream in the meantime, which is what makes a retry safe for idempotent requests.
    var exchangesServed = 0
    /// While parked: when it has been idle too long. Lazily rescheduled, so a connection leased
    /// and parked again on every request schedules no task per request.
    var idleDeadline = DeadlineTimer()
    var idleTask: Scheduled<Void>?

    init(id: Int, channel: any Channel, handler: UpstreamHandler, address: UpstreamAddress, createdAt: NIODeadline) {
        self.id = id
        self.channel = channel
        self.handler = handler
        self.address = address
        self.createdAt = createdAt
    }

    var isReused: Bool { exchangesServed > 0 }
}

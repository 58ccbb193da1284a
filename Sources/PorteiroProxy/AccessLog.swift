import Logging
import NIOCore
import NIOHTTP1
import PorteiroMetrics

/// What the access-log line of one request says. Never the query string, `;parameters` or the
/// userinfo of an absolute-form target (any of them may carry a token or password), never cookies
/// or authorization headers: the path is the normalized routing path, and only a target and host
/// that parsed are logged at all. Text is formatted only when the line is written.
struct AccessLogEntry {
    let method: HTTPMethod
    let start: NIODeadline
    /// The `Host` once it is known to be a host name; `-` until then.
    var host: String?
    /// `RequestTarget.routingPath` once the target parsed; `-` until then.
    var path = "-"
    /// `Route.index` of the route that matched; nil for Porteiro's own answers before routing.
    var routeIndex: Int?

    init(method: HTTPMethod, start: NIODeadline) {
        self.method = method
        self.start = start
    }

    func write(to logger: Logger, status: UInt, bytes: Int, upstream: String?, requestID: String) {
        let micros = (NIODeadline.now() - start).nanoseconds / 1_000
        logger.info(
            "request",
            metadata: [
                "method": "\(method.rawValue)", "host": "\(host ?? "-")", "path": "\(path)",
                "status": "\(status)", "bytes": "\(bytes)", "duration_us": "\(micros)", "upstream": "\(upstream ?? "-")",
                "request_id": "\(requestID)",
            ]
        )
    }
}

extension GatewaySettings {
    /// The counters of the route that answered (or of Porteiro's own answers).
    func metrics(for log: AccessLogEntry) -> RouteMetrics {
        guard let index = log.routeIndex, routeMetrics.indices.contains(index) else { return metrics.unrouted }
        return routeMetrics[index]
    }
}

extension GatewayHandler {
    /// Counts the finished request and writes its access-log line.
    func recordRequest(_ log: AccessLogEntry, status: UInt, bytes: Int, upstream: String?, requestID: String) {
        settings.metrics(for: log).record(status: status)
        if settings.accessLog {
            log.write(to: logger, status: status, bytes: bytes, upstream: upstream, requestID: requestID)
        }
    }
}

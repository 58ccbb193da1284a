import Logging
import NIOCore
import NIOHTTP1
import PorteiroMetrics

/// What the access-log line of one request says. Never the query string (it may carry tokens),
/// never cookies or authorization headers. Text is formatted only when the line is written.
struct AccessLogEntry {
    let method: HTTPMethod
    let host: String?
    let uri: String
    let start: NIODeadline
    /// `Route.index` of the route that matched; nil for Porteiro's own answers before routing.
    var routeIndex: Int?

    init(method: HTTPMethod, host: String?, uri: String, start: NIODeadline) {
        self.method = method
        self.host = host
        self.uri = uri
        self.start = start
    }

    func write(to logger: Logger, status: UInt, bytes: Int, upstream: String?, requestID: String) {
        let micros = (NIODeadline.now() - start).nanoseconds / 1_000
        logger.info(
            "request",
            metadata: [
                "method": "\(method.rawValue)", "host": "\(host ?? "-")", "path": "\(uri.prefix(while: { $0 != "?" }))",
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

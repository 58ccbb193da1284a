import Logging
import NIOCore
import NIOHTTP1

/// What the access-log line of one request says. Never the query string (it may carry tokens),
/// never cookies or authorization headers. Text is formatted only when the line is written.
struct AccessLogEntry {
    let method: HTTPMethod
    let host: String?
    let uri: String
    let start: NIODeadline

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

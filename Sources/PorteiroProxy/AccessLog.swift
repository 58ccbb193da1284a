import Logging
import NIOCore

/// What the access-log line of one request says. Never the query string (it may carry tokens),
/// never cookies or authorization headers.
struct AccessLogEntry {
    let method: String
    let host: String
    let path: String
    let start: NIODeadline

    func write(to logger: Logger, status: UInt, bytes: Int, upstream: String?, requestID: String) {
        let micros = (NIODeadline.now() - start).nanoseconds / 1_000
        logger.info(
            "request",
            metadata: [
                "method": "\(method)", "host": "\(host)", "path": "\(path)", "status": "\(status)",
                "bytes": "\(bytes)", "duration_us": "\(micros)", "upstream": "\(upstream ?? "-")",
                "request_id": "\(requestID)",
            ]
        )
    }
}

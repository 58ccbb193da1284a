import NIOHTTP1

/// One request as the gateway sees it at its head, built once and passed whole: what every answer,
/// exchange and log line about it needs.
struct GatewayRequest {
    let head: HTTPRequestHead
    /// Porteiro's id for it: in the access log, on error pages, to the app and back to the client.
    let requestID: String
    /// Filled in while the request is decided (host, path, route).
    var log: AccessLogEntry
    /// True when a body may follow the head (`Transfer-Encoding`, or a non-zero `Content-Length`).
    let hasBody: Bool

    init(head: HTTPRequestHead, requestID: String, log: AccessLogEntry) {
        self.head = head
        self.requestID = requestID
        self.log = log
        self.hasBody = RequestFraming.hasBody(head.headers)
    }

    var keepAlive: Bool { head.isKeepAlive }
}

/// A response Porteiro writes itself, with what recording it needs.
struct LocalAnswer {
    var response: LocalResponse
    var request: GatewayRequest
    /// False when the connection closes after this answer.
    var keepAlive: Bool
    /// Names the app when this is an error page in place of its response.
    var upstream: String? = nil
}

/// Why an exchange ended in an error page instead of the app's response.
struct ExchangeFailure: Equatable {
    var status: HTTPResponseStatus
    var text: PageText
    /// For the log line; never shown to the client.
    var reason: String
}

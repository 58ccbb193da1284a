public import NIOHTTP1
import PorteiroMetrics

/// A response Porteiro writes itself: health answers, redirects and error pages (`PageRenderer`).
public struct LocalResponse: Sendable {
    public var status: HTTPResponseStatus
    public var headers: HTTPHeaders
    public var body: String

    public init(status: HTTPResponseStatus, headers: HTTPHeaders = [:], body: String) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    public static func plain(_ status: HTTPResponseStatus, _ text: String) -> LocalResponse {
        LocalResponse(
            status: status,
            headers: ["Content-Type": "text/plain; charset=utf-8", "Cache-Control": "no-store"],
            body: text
        )
    }

    static func metrics(_ metrics: GatewayMetrics) -> LocalResponse {
        LocalResponse(
            status: .ok, headers: ["Content-Type": GatewayMetrics.contentType, "Cache-Control": "no-store"],
            body: String(decoding: metrics.exposition(), as: UTF8.self))
    }

    /// True when the request prefers JSON over HTML: an `Accept` naming JSON but not HTML, or an XHR.
    public static func prefersJSON(_ headers: HTTPHeaders) -> Bool {
        if headers.first(name: "x-requested-with")?.lowercased() == "xmlhttprequest" { return true }
        let accept = headers[canonicalForm: "accept"].map { $0.lowercased() }
        return accept.contains { $0.contains("json") } && !accept.contains { $0.hasPrefix("text/html") }
    }
}

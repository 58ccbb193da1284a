public import NIOHTTP1

/// A response Porteiro writes itself: health answers and small error pages.
///
/// Pages carry the request id, which also appears in the log line, so an operator can find the
/// cause of a user's error; they never contain stack traces or internal addresses.
public struct LocalResponse: Sendable {
    public var status: HTTPResponseStatus
    public var headers: HTTPHeaders
    public var body: String

    public init(status: HTTPResponseStatus, headers: HTTPHeaders = [:], body: String) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// An error page in HTML, or JSON when the client prefers it (API and XHR callers).
    public static func error(
        _ status: HTTPResponseStatus, message: String, requestID: String, wantsJSON: Bool,
        extraHeaders: HTTPHeaders = [:]
    ) -> LocalResponse {
        var headers = extraHeaders
        headers.add(name: "Cache-Control", value: "no-store")
        headers.add(name: "X-Request-Id", value: requestID)
        if wantsJSON {
            headers.add(name: "Content-Type", value: "application/json")
            let body = #"{"error":"\#(jsonEscaped(status.reasonPhrase))","status":\#(status.code),"#
                + #""message":"\#(jsonEscaped(message))","request_id":"\#(jsonEscaped(requestID))"}"#
            return LocalResponse(status: status, headers: headers, body: body)
        }
        headers.add(name: "Content-Type", value: "text/html; charset=utf-8")
        headers.add(name: "Content-Security-Policy", value: "default-src 'none'; style-src 'unsafe-inline'")
        let title = "\(status.code) \(htmlEscaped(status.reasonPhrase))"
        let body = """
            <!doctype html><html lang="en"><head><meta charset="utf-8"><title>\(title)</title>
            <style>body{font:16px system-ui,sans-serif;max-width:36em;margin:4em auto;padding:0 1em;color:#222}
            small{color:#666}</style></head><body><h1>\(title)</h1><p>\(htmlEscaped(message))</p>
            <p><small>Request id: \(htmlEscaped(requestID)) · Porteiro</small></p></body></html>

            """
        return LocalResponse(status: status, headers: headers, body: body)
    }

    public static func plain(_ status: HTTPResponseStatus, _ text: String) -> LocalResponse {
        LocalResponse(
            status: status,
            headers: ["Content-Type": "text/plain; charset=utf-8", "Cache-Control": "no-store"],
            body: text
        )
    }

    /// True when the request prefers JSON over HTML: an `Accept` naming JSON but not HTML, or an XHR.
    public static func prefersJSON(_ headers: HTTPHeaders) -> Bool {
        if headers.first(name: "x-requested-with")?.lowercased() == "xmlhttprequest" { return true }
        let accept = headers[canonicalForm: "accept"].map { $0.lowercased() }
        return accept.contains { $0.contains("json") } && !accept.contains { $0.hasPrefix("text/html") }
    }
}

func htmlEscaped(_ text: String) -> String {
    var out = ""
    out.reserveCapacity(text.utf8.count)
    for character in text {
        switch character {
        case "&": out += "&amp;"
        case "<": out += "&lt;"
        case ">": out += "&gt;"
        case "\"": out += "&quot;"
        case "'": out += "&#39;"
        default: out.append(character)
        }
    }
    return out
}

func jsonEscaped(_ text: String) -> String {
    var out = ""
    for scalar in text.unicodeScalars {
        switch scalar {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        case _ where scalar.value < 0x20:
            let hex = String(scalar.value, radix: 16)
            out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
        default: out.unicodeScalars.append(scalar)
        }
    }
    return out
}

public import NIOHTTP1
import PorteiroRouting

/// Porteiro's own error pages: small, self-contained HTML (or JSON for API callers) in the
/// client's language, carrying the request id that also appears in the log, never a stack trace.
/// An operator may replace the HTML with `error.html` from `server.templates_dir`, using the
/// placeholders `{{lang}}`, `{{status}}`, `{{title}}`, `{{message}}` and `{{request_id}}` (all
/// HTML-escaped). The template is read once, at configuration load.
public struct PageRenderer: Sendable {
    private let template: String

    public init(template: String? = nil) {
        self.template = template ?? Self.builtIn
    }

    /// `signOut` adds a sign-out link (`{{link}}` in templates; `sign_out` in JSON).
    public func error(
        _ status: HTTPResponseStatus, _ text: PageText, requestID: String, request: HTTPHeaders,
        extraHeaders: HTTPHeaders = [:], signOut: Bool = false
    ) -> LocalResponse {
        let language = PageLanguage.preferred(request)
        var headers = extraHeaders
        headers.add(name: "Cache-Control", value: "no-store")
        headers.add(name: "X-Request-Id", value: requestID)
        headers.add(name: "Content-Language", value: language.rawValue)
        let message = text.localized(language)
        if LocalResponse.prefersJSON(request) {
            headers.add(name: "Content-Type", value: "application/json")
            let link = signOut ? #","sign_out":"\#(Self.signOutPath)""# : ""
            let body = #"{"error":"\#(jsonEscaped(status.reasonPhrase))","status":\#(status.code),"#
                + #""message":"\#(jsonEscaped(message))","request_id":"\#(jsonEscaped(requestID))"\#(link)}"#
            return LocalResponse(status: status, headers: headers, body: body)
        }
        headers.add(name: "Content-Type", value: "text/html; charset=utf-8")
        headers.add(name: "Content-Security-Policy", value: "default-src 'none'; style-src 'unsafe-inline'")
        let link = signOut ? #"<p><a href="\#(Self.signOutPath)">\#(htmlEscaped(PageText.signOut.localized(language)))</a></p>"# : ""
        let values = [
            "lang": htmlEscaped(language.rawValue), "status": "\(status.code)", "title": htmlEscaped(language.title(status)),
            "message": htmlEscaped(message), "request_id": htmlEscaped(requestID),
            "request_id_label": htmlEscaped(PageText.requestIDLabel.localized(language)), "link": link,
        ]
        return LocalResponse(status: status, headers: headers, body: Self.render(template, values))
    }

    /// Replaces each `{{name}}` of `template` once, left to right: a value that itself contains
    /// `{{…}}` (a user name from the IdP, say) is written as it is, never substituted again.
    /// Unknown names are left as they are.
    static func render(_ template: String, _ values: [String: String]) -> String {
        var output = ""
        output.reserveCapacity(template.utf8.count + 256)
        var rest = Substring(template)
        while let open = rest.range(of: "{{") {
            output += rest[..<open.lowerBound]
            let afterOpen = rest[open.upperBound...]
            guard let close = afterOpen.range(of: "}}"), let value = values[String(afterOpen[..<close.lowerBound])] else {
                output += "{{"
                rest = afterOpen
                continue
            }
            output += value
            rest = afterOpen[close.upperBound...]
        }
        output += rest
        return output
    }

    static let signOutPath = "/oauth2/sign_out"

    static let builtIn = """
        <!doctype html><html lang="{{lang}}"><head><meta charset="utf-8"><title>{{status}} {{title}}</title>
        <meta name="viewport" content="width=device-width,initial-scale=1">
        <style>body{font:16px system-ui,sans-serif;max-width:36em;margin:4em auto;padding:0 1em;color:#222}
        small{color:#666}</style></head><body><h1>{{status}} {{title}}</h1><p>{{message}}</p>{{link}}
        <p><small>{{request_id_label}}: {{request_id}} · Porteiro</small></p></body></html>

        """
}

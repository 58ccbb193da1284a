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
        let values = [
            "lang": language.rawValue, "status": "\(status.code)", "title": language.title(status), "message": message,
            "request_id": requestID, "request_id_label": PageText.requestIDLabel.localized(language),
        ]
        var body = template
        for (name, value) in values { body = body.replacingAll("{{\(name)}}", with: htmlEscaped(value)) }
        let link = signOut ? #"<p><a href="\#(Self.signOutPath)">\#(htmlEscaped(PageText.signOut.localized(language)))</a></p>"# : ""
        body = body.replacingAll("{{link}}", with: link)
        return LocalResponse(status: status, headers: headers, body: body)
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

extension String {
    fileprivate func replacingAll(_ target: String, with replacement: String) -> String {
        split(separator: target, omittingEmptySubsequences: false).joined(separator: replacement)
    }
}

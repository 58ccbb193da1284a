import NIOHTTP1
import PorteiroProxy
import PorteiroRouting

/// The page a sign-out request gets when it cannot show that it comes from this site (a link on
/// another site, a client that sends no `Sec-Fetch-Site`): one button that posts the sign-out from
/// this origin. Nothing is ended by the request that shows it, so a cross-site link cannot sign
/// anyone out.
enum SignOutConfirmation {
    static func page(returnTo: String?, request: AuthRequest) -> LocalResponse {
        let language = PageLanguage.preferred(request.headers)
        let query = returnTo.map { "?" + FormEncoding.encode([("rd", $0)]) } ?? ""
        let (title, button) = language == .ptBR ? ("Sair?", "Sair") : ("Sign out?", "Sign out")
        let body = """
            <!doctype html><html lang="\(language.rawValue)"><head><meta charset="utf-8"><title>\(title)</title>
            <meta name="viewport" content="width=device-width,initial-scale=1">
            <style>body{font:16px system-ui,sans-serif;max-width:36em;margin:4em auto;padding:0 1em;color:#222}</style>
            </head><body><h1>\(title)</h1><form method="post" action="/oauth2/sign_out\(htmlEscaped(query))">
            <button type="submit">\(button)</button></form></body></html>

            """
        let headers: HTTPHeaders = [
            "Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store", "Content-Language": language.rawValue,
            "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'",
            "X-Request-Id": request.requestID,
        ]
        return LocalResponse(status: .ok, headers: headers, body: body)
    }
}

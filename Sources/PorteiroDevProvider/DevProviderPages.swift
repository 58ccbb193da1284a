import PorteiroRouting

/// The provider's HTML: every page carries the "not for production" banner.
enum DevProviderPages {
    static let carriedParameters = [
        "client_id", "redirect_uri", "response_type", "scope", "state", "nonce", "code_challenge", "code_challenge_method",
    ]

    static func login(parameters: [String: String], error: String?) -> String {
        let hidden = carriedParameters.compactMap { name in
            parameters[name].map { #"<input type="hidden" name="\#(name)" value="\#(htmlEscaped($0))">"# }
        }.joined(separator: "\n")
        let problem = error.map { #"<p class="error" role="alert">\#(htmlEscaped($0))</p>"# } ?? ""
        return page(title: "Sign in", body: """
            <h1>Sign in</h1>
            <p>to <strong>\(htmlEscaped(parameters["client_id"] ?? ""))</strong></p>
            \(problem)
            <form method="post" action="/authorize">
            \(hidden)
            <label>User name <input id="username" name="username" autocomplete="username" autofocus></label>
            <label>Password <input id="password" name="password" type="password" autocomplete="current-password"></label>
            <button id="login" type="submit">Sign in</button>
            </form>
            """)
    }

    static func message(_ title: String, _ text: String) -> String {
        page(title: title, body: "<h1>\(htmlEscaped(title))</h1><p>\(htmlEscaped(text))</p>")
    }

    static func home(issuer: String, users: [DevProviderSettings.User]) -> String {
        let rows = users.map { user in
            "<tr><td>\(htmlEscaped(user.username))</td><td>\(htmlEscaped(user.password))</td><td>\(htmlEscaped(user.groups.joined(separator: ", ")))</td></tr>"
        }.joined()
        return page(title: "Development provider", body: """
            <h1>Development OpenID provider</h1>
            <p>Issuer <code>\(htmlEscaped(issuer))</code>, discovery at
            <a href="/.well-known/openid-configuration">/.well-known/openid-configuration</a>.</p>
            <table><tr><th>user</th><th>password</th><th>groups</th></tr>\(rows)</table>
            """)
    }

    private static func page(title: String, body: String) -> String {
        """
        <!doctype html><html lang="en"><head><meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>\(htmlEscaped(title)) — development provider</title>
        <style>body{font:16px system-ui,sans-serif;max-width:26em;margin:2em auto;padding:0 1em}
        .banner{background:#b00020;color:#fff;padding:.5em 1em;font-weight:600}
        label{display:block;margin:.8em 0}input{display:block;width:100%;padding:.4em;font:inherit}
        button{padding:.5em 1.5em;font:inherit}.error{color:#b00020}td,th{padding:.2em .8em .2em 0;text-align:left}</style>
        </head><body><p class="banner" id="dev-banner">Development provider — not for production</p>
        \(body)
        </body></html>
        """
    }
}

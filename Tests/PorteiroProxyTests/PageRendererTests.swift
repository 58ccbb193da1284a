import NIOHTTP1
import PorteiroProxy
import Testing

@Suite struct PageRendererTests {
    @Test(arguments: [
        ("pt-BR,pt;q=0.9,en;q=0.8", PageLanguage.ptBR), ("en-US,pt;q=0.5", .en), ("pt", .ptBR), ("de-DE, pt-PT;q=0.7", .ptBR),
        ("fr", .en), ("", .en), ("en;q=0.2, pt-BR;q=0.9", .ptBR),
    ])
    func choosesTheLanguage(header: String, language: PageLanguage) {
        #expect(PageLanguage.preferred(["Accept-Language": header]) == language)
    }

    @Test func rendersPortugueseHTMLWithTheRequestID() {
        let page = PageRenderer().error(.forbidden, .signInRequired, requestID: "rid-1", request: ["Accept-Language": "pt-BR"])
        #expect(page.body.contains(#"<html lang="pt-BR">"#))
        #expect(page.body.contains("403 Acesso negado"))
        #expect(page.body.contains("É preciso entrar para continuar."))
        #expect(page.body.contains("rid-1"))
        #expect(page.headers["content-language"] == ["pt-BR"])
        #expect(page.headers["cache-control"] == ["no-store"])
    }

    @Test func rendersJSONForAPIClients() {
        let page = PageRenderer().error(.badGateway, .appUnreachable, requestID: "r", request: ["Accept": "application/json"])
        #expect(page.body == #"{"error":"Bad Gateway","status":502,"message":"The application is not reachable.","request_id":"r"}"#)
    }

    @Test func usesAnOperatorTemplateWithEscapedValues() {
        let renderer = PageRenderer(template: "<main lang={{lang}}>{{status}}|{{title}}|{{message}}|{{request_id}}</main>")
        let page = renderer.error(.forbidden, .idpDenied("<script>"), requestID: "r&1", request: [:])
        #expect(page.body == "<main lang=en>403|Forbidden|The identity provider did not sign you in (&lt;script&gt;).|r&amp;1</main>")
    }
}

@Suite struct PageLanguageTests {
    /// `;` alone once indexed an empty array and trapped the whole process.
    @Test(arguments: [";", "en, ;", ",", ";;", " ; ", ";q=1", "pt;q=", "pt;q=abc", "pt;q=nan", "pt;q=inf", "pt;q=2", "\u{0}"])
    func malformedItemsAreSkipped(header: String) {
        #expect(PageLanguage.preferred(["Accept-Language": header]) == .en)
    }

    @Test func aValidItemBesideMalformedOnesStillCounts() {
        #expect(PageLanguage.preferred(["Accept-Language": ";, pt-BR;q=0.8, ;q=x"]) == .ptBR)
    }

    /// A value from the IdP (a user name) that looks like a placeholder is text, not a placeholder.
    @Test func templatesSubstituteInOnePass() {
        let renderer = PageRenderer(template: "{{message}}|{{request_id}}|{{unknown}}|{{")
        let page = renderer.error(.forbidden, .notAllowed(user: "{{request_id}}{{link}}"), requestID: "r1", request: [:], signOut: true)
        #expect(page.body == "You are signed in as {{request_id}}{{link}}, but this page is not open to you.|r1|{{unknown}}|{{")
    }
}

@Suite struct HeaderNameSetTests {
    @Test func foldsCaseAndUnderscores() {
        let names = HeaderNameSet(["X-Forwarded-User", "remote-user"])
        for spelling in ["x-forwarded-user", "X_FORWARDED_USER", "x_Forwarded-user", "REMOTE_USER", "Remote-User"] {
            #expect(names.contains(spelling), "\(spelling)")
        }
        for other in ["x-forwarded-users", "x-forwarded-use", "x forwarded user", "remote-user "] {
            #expect(!names.contains(other), "\(other)")
        }
    }
}

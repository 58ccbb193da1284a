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

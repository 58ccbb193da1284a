/// A sentence shown on an error page, in every language pages are served in.
public struct PageText: Sendable, Equatable {
    public let en: String
    public let ptBR: String

    public init(en: String, ptBR: String) {
        self.en = en
        self.ptBR = ptBR
    }

    public func localized(_ language: PageLanguage) -> String {
        language == .ptBR ? ptBR : en
    }
}

/// Every sentence Porteiro's own pages use.
extension PageText {
    public static let signInRequired = PageText(en: "Sign-in is required.", ptBR: "É preciso entrar para continuar.")
    public static let noRoute = PageText(
        en: "No application is configured at this address.", ptBR: "Nenhuma aplicação está configurada neste endereço.")
    public static let badPath = PageText(
        en: "The request path is not acceptable.", ptBR: "O caminho da requisição não é aceitável.")
    public static let untrustedOriginal = PageText(
        en: "This gateway does not trust the proxy that asked.", ptBR: "Este gateway não confia no proxy que perguntou.")
    public static let badHost = PageText(
        en: "The request's host is not a valid host name.", ptBR: "O host da requisição não é um nome de host válido.")
    public static let unreadable = PageText(en: "The request could not be read.", ptBR: "A requisição não pôde ser lida.")
    public static let oneHost = PageText(
        en: "The request must name exactly one host (one Host header, agreeing with the request's authority).",
        ptBR: "A requisição deve indicar exatamente um host (um cabeçalho Host, de acordo com a autoridade da requisição).")
    public static let chunkedOnly = PageText(
        en: "Only chunked transfer coding is supported.", ptBR: "Só a codificação de transferência chunked é aceita.")
    public static let ambiguousLength = PageText(
        en: "The request's length is ambiguous (Content-Length and Transfer-Encoding, or an invalid Content-Length).",
        ptBR: "O tamanho da requisição é ambíguo (Content-Length e Transfer-Encoding, ou Content-Length inválido).")
    public static let appUnreachable = PageText(
        en: "The application is not reachable.", ptBR: "A aplicação não está acessível.")
    public static let appSlowToAccept = PageText(
        en: "The application did not accept the connection in time.", ptBR: "A aplicação não aceitou a conexão a tempo.")
    public static let appSilent = PageText(en: "The application did not answer in time.", ptBR: "A aplicação não respondeu a tempo.")
    public static let appHungUp = PageText(
        en: "The application closed the connection without answering.", ptBR: "A aplicação fechou a conexão sem responder.")
    public static let appSwitchedProtocols = PageText(
        en: "The application switched protocols without being asked to.", ptBR: "A aplicação trocou de protocolo sem que isso fosse pedido.")
    public static let refreshFailed = PageText(
        en: "The session could not be refreshed.", ptBR: "Não foi possível renovar a sessão.")
    public static let tokenExchangeFailed = PageText(
        en: "The identity provider did not issue a token for this application.",
        ptBR: "O provedor de identidade não emitiu um token para esta aplicação.")
    public static let loginUnavailable = PageText(
        en: "Sign-in is temporarily unavailable: the identity provider has not answered yet. Please try again shortly.",
        ptBR: "O acesso está temporariamente indisponível: o provedor de identidade ainda não respondeu. Tente de novo em instantes.")
    public static let loginLinkInvalid = PageText(
        en: "This sign-in link is no longer valid. Please start again.",
        ptBR: "Este link de acesso não é mais válido. Comece de novo.")
    public static let noCode = PageText(
        en: "The identity provider sent no authorization code.", ptBR: "O provedor de identidade não enviou o código de autorização.")
    public static let idpFailed = PageText(
        en: "The identity provider could not complete the sign-in.", ptBR: "O provedor de identidade não conseguiu concluir o acesso.")
    public static let idpUntrusted = PageText(
        en: "The identity provider's answer could not be trusted.", ptBR: "A resposta do provedor de identidade não é confiável.")

    public static let methodNotAllowed = PageText(
        en: "This address does not accept that request method.", ptBR: "Este endereço não aceita esse método de requisição.")
    public static let signOut = PageText(en: "Sign out", ptBR: "Sair")

    public static let requestIDLabel = PageText(en: "Request id", ptBR: "Código da requisição")

    public static func notAllowed(user: String) -> PageText {
        PageText(
            en: "You are signed in as \(user), but this page is not open to you.",
            ptBR: "Você entrou como \(user), mas esta página não está liberada para você.")
    }

    public static func idpDenied(_ error: String) -> PageText {
        PageText(
            en: "The identity provider did not sign you in (\(error)).",
            ptBR: "O provedor de identidade não concluiu o seu acesso (\(error)).")
    }
}

public import NIOHTTP1

/// The page language, from `Accept-Language`: Brazilian Portuguese when the client prefers any
/// Portuguese, else English.
///
/// The header is the client's: every item may be empty, lack a tag, or carry a quality that is no
/// number. Such items are skipped, never indexed into (`;` alone once trapped the process).
public enum PageLanguage: String, Sendable {
    case en
    case ptBR = "pt-BR"

    public static func preferred(_ headers: HTTPHeaders) -> PageLanguage {
        var best: (language: PageLanguage, quality: Double)?
        for value in headers[canonicalForm: "accept-language"] {
            for item in value.split(separator: ",") {
                guard let (tag, quality) = languageRange(item) else { continue }
                let language: PageLanguage? = tag.hasPrefix("pt") ? .ptBR : (tag.hasPrefix("en") ? .en : nil)
                if let language, quality > (best?.quality ?? 0) { best = (language, quality) }
            }
        }
        return best?.language ?? .en
    }

    /// `tag;q=0.8` → (lowercased tag, quality); nil when the tag is empty or the quality is not a
    /// number in 0…1 (RFC 9110 §12.4.2).
    static func languageRange(_ item: Substring) -> (tag: String, quality: Double)? {
        var parameters = item.split(separator: ";", omittingEmptySubsequences: false).makeIterator()
        guard let tag = parameters.next()?.trimmed(), !tag.isEmpty else { return nil }
        var quality = 1.0
        while let parameter = parameters.next()?.trimmed() {
            guard parameter.lowercased().hasPrefix("q=") else { continue }
            guard let value = Double(parameter.dropFirst(2)), value >= 0, value <= 1 else { return nil }
            quality = value
        }
        return (tag.lowercased(), quality)
    }

    func title(_ status: HTTPResponseStatus) -> String {
        guard self == .ptBR else { return status.reasonPhrase }
        switch status.code {
        case 400: return "Requisição inválida"
        case 401: return "É preciso entrar"
        case 403: return "Acesso negado"
        case 404: return "Não encontrado"
        case 405: return "Método não permitido"
        case 431: return "Cabeçalhos grandes demais"
        case 501: return "Não implementado"
        case 502: return "Aplicação indisponível"
        case 503: return "Serviço indisponível"
        case 504: return "A aplicação não respondeu a tempo"
        default: return status.reasonPhrase
        }
    }
}

extension Substring {
    /// Without leading and trailing spaces and tabs (optional whitespace, RFC 9110 §5.6.3).
    func trimmed() -> Substring {
        var result = self
        while let first = result.first, first == " " || first == "\t" { result = result.dropFirst() }
        while let last = result.last, last == " " || last == "\t" { result = result.dropLast() }
        return result
    }
}

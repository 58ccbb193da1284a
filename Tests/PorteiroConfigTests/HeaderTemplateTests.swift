import PorteiroConfig
import Testing

@Suite struct HeaderTemplateTests {
    func template(_ text: String) throws -> HeaderTemplate {
        try HeaderTemplate.parse(text).get()
    }

    func problem(_ text: String) -> String? {
        if case .failure(let problem) = HeaderTemplate.parse(text) { problem.message } else { nil }
    }

    /// What a signed-in maria would fill in.
    func maria(_ source: HeaderTemplate.Source) -> [String]? {
        switch source {
        case .user: ["maria"]
        case .email: ["maria@example.org"]
        case .subject: ["f3a1"]
        case .groups: ["servidores", "rh"]
        case .roles: []
        case .claim("employee_number"): ["1234"]
        case .claim("name"): ["Silva, Maria"]
        case .claim("cpf"): [""]
        case .claim("org.units"): ["a", "b,c", " d", "e"]
        case .claim("bio"): ["line one\r\nX-Evil: 1\u{7f}\u{0}"]
        case .claim("huge"): [String(repeating: "x", count: HeaderTemplate.maxValueBytes + 1)]
        case .claim("mixed"): ["ok", "e\u{0}ve", "fine"]
        case .claim: nil
        case .accessToken: ["at"]
        case .idToken: nil
        }
    }

    @Test func parsesLiteralsPlaceholdersAndEscapedBraces() throws {
        #expect(try template("CN={user}, O=gov").parts == [.literal("CN="), .value(.user), .literal(", O=gov")])
        #expect(try template("{claims.resource_access.portal.roles}").sources == [.claim("resource_access.portal.roles")])
        #expect(try template("{{literal}} {email}").parts == [.literal("{literal} "), .value(.email)])
        #expect(try template("plain").parts == [.literal("plain")])
        #expect(try template("{access_token}{id_token}{subject}{groups}{roles}").sources
            == [.accessToken, .idToken, .subject, .groups, .roles])
    }

    @Test(arguments: [
        ("{usr}", "unknown placeholder {usr}"),
        ("{claims.}", "unknown placeholder {claims.}"),
        ("{claims.a..b}", "unknown placeholder {claims.a..b}"),
        ("{claims.a b}", "unknown placeholder {claims.a b}"),
        ("{}", "unknown placeholder {}"),
        ("{user", "never closed"),
        ("user}", "closes nothing"),
        ("a\r\nX-Evil: 1 {user}", "control character"),
    ])
    func refusesWhatItCannotFillIn(text: String, message: String) {
        #expect(problem(text)?.contains(message) == true, "\(text): \(problem(text) ?? "parsed")")
    }

    @Test func fillsInWithLiteralTextAndJoinsLists() throws {
        #expect(try template("CN={user}, O=gov").render(maria) == "CN=maria, O=gov")
        #expect(try template("{groups}").render(maria) == "servidores,rh")
        #expect(try template("{claims.employee_number}").render(maria) == "1234")
        #expect(try template("{user} <{email}>").render(maria) == "maria <maria@example.org>")
    }

    @Test func aMissingOrEmptyValueOmitsTheWholeHeader() throws {
        #expect(try template("id={claims.unknown}").render(maria) == nil)
        #expect(try template("{claims.cpf}").render(maria) == nil, "an empty string is no value")
        #expect(try template("{roles}").render(maria) == nil, "an empty list is no value")
        #expect(try template("{id_token}").render(maria) == nil)
        #expect(try template("{user}:{claims.unknown}").render(maria) == nil, "never half a value")
    }

    @Test func hostileValuesAreCleanedOrLeftOut() throws {
        #expect(try template("{claims.bio}").render(maria) == nil, "CR, LF, NUL, DEL: not cleaned into another value, left out")
        for invisible in ["e\u{85}ve", "e\u{2028}ve", "e\u{2029}ve", "e\u{200B}ve", "\u{FEFF}eve", "e\u{202E}ve", "e\u{0}ve"] {
            #expect(try template("{user}").render { _ in [invisible] } == nil, "C1, separators, zero-width, BOM, bidi: \(invisible.debugDescription)")
        }
        #expect(try template("{claims.mixed}").render(maria) == "ok,fine", "list items holding one are dropped")
        #expect(try template("{claims.org.units}").render(maria) == "a,e", "list items a split would misread are dropped")
        #expect(try template("{claims.name}").render(maria) == "Silva, Maria", "one value may hold a comma")
        #expect(try template("{claims.huge}").render(maria) == nil, "too long: left out, not cut")
        let nearly = String(repeating: "y", count: HeaderTemplate.maxValueBytes - 5)
        #expect(try template(nearly + "{user}").render(maria)?.utf8.count == HeaderTemplate.maxValueBytes)
        #expect(try template(nearly + "{user}!").render(maria) == nil)
    }
}
